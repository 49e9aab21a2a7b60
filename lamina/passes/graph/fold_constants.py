"""`fold-constants`: an op whose operands are all `graph.const` is evaluated once, at compile
time, with its row's numpy reference (the interpreter), and becomes a `graph.const`.

Results with symbolic shapes never fold; results larger than `max-elements` stay computed at
run time so a broadcast does not blow up the model file. Constants left unused are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_op
from lamina.ir.diagnostics import location_of
from lamina.ir.optable import TableOp
from lamina.passes.graph.support import constant_array, erase_dead_pure_ops


@dataclass(frozen=True)
class FoldConstants(ModulePass):
    name = "fold-constants"
    max_elements: int = 1 << 20

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for candidate in list(op.walk()):
            if not isinstance(candidate, TableOp) or not candidate.name.startswith("graph.") or candidate.name == "graph.const":
                continue
            if not candidate.results or candidate.regions:
                continue
            arrays = [constant_array(v) for v in candidate.operands]
            if any(a is None for a in arrays):
                continue
            types = [r.type for r in candidate.results]
            if not all(t.is_static for t in types):
                continue
            if sum(int(t.num_elements()) for t in types) > self.max_elements:
                continue
            values = run_op(candidate, arrays)
            block = candidate.parent_block()
            new_results = []
            for value, t in zip(values, types):
                const = Graph["const"].build([], {"value": value.astype(t.dtype, copy=False).reshape(t.shape)}, location=location_of(candidate))
                block.insert_op_before(const, candidate)
                new_results.append(const.results[0])
            for old, new in zip(candidate.results, new_results):
                new.name_hint = old.name_hint
                old.replace_all_uses_with(new)
            candidate.detach()
            candidate.erase()
        erase_dead_pure_ops(op)
