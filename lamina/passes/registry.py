"""Every pass `lamina-opt -p` and `lamina.compile` can run, by kebab-case name.

A pass is an xDSL `ModulePass` (a frozen dataclass whose fields are its options). To register
one, add the one line naming its module to PASS_MODULES, e.g.

    "lamina.passes.schedule.my_pass",

and every ModulePass subclass defined in that module is listed under its `name`. Modules are
imported on first use so `lamina-opt --help` stays fast; a module missing from a checkout (a
stage not built yet) is skipped.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache

from xdsl.passes import ModulePass

PASS_MODULES = (
    "lamina.passes.graph.canonicalize",
    "lamina.passes.graph.fold_constants",
    "lamina.passes.graph.cse",
    "lamina.passes.graph.dce",
    "lamina.passes.graph.shape_infer",
    "lamina.passes.graph.split_conv_bias",
    "lamina.passes.graph.winograd_conv",
    "lamina.passes.graph.explicit_padding",
    "lamina.lowering.graph_to_loop",
    "lamina.passes.loop.simplify_indices",
    "lamina.lowering.default_schedule",
    "lamina.passes.loop.unswitch_guards",
    "lamina.passes.loop.register_accumulators",
    "lamina.passes.loop.absorb_pads",
    "lamina.passes.loop.compact_buffers",
    "lamina.passes.loop.prefetch_panels",
    "lamina.lowering.loop_to_device",
    "lamina.passes.schedule.apply_schedule",
)


@cache
def available_passes() -> dict[str, type[ModulePass]]:
    found: dict[str, type[ModulePass]] = {}
    for module_name in PASS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
                continue  # a stage not present in this checkout
            raise
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, ModulePass) and obj is not ModulePass and obj.__module__ == module.__name__:
                found[obj.name] = obj
    return found
