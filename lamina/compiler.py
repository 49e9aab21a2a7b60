"""`lamina.compile`: a model (graph-dialect module, text IR, ONNX model or path) → a
CompiledModel running as one native entry point.

The pipeline is a readable list of named passes — the names feed `print_ir_after` and dumps —
run by the same driver code as `lamina-opt`, verifying the IR after each pass.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import parse_dim
from lamina.ir.types import ShapedTypeMixin
from lamina.ir.verify import VerifiedOps, verify_op_tree
from lamina.runtime.abi import ModuleSignature, TensorSpec

GRAPH_OPTIMIZATIONS = ["canonicalize", "cse", "fold-constants", "dce"]
INPUT_NAMES_ATTR = "lamina.input_names"
OUTPUT_NAMES_ATTR = "lamina.output_names"
TARGETS = ("llvm", "c", "cuda")


def pipeline(opt_level: int, threads: int, target: str = "llvm") -> list[str]:
    stages = list(GRAPH_OPTIMIZATIONS) if opt_level > 0 else []
    if opt_level > 0 and target != "cuda":
        # canonicalize again: a bias split off a conv may commute with the pool after it, and
        # the layout changes around Winograd convs cancel between them
        stages += ["split-conv-bias", "canonicalize", "winograd-conv", "canonicalize", "explicit-padding"]
    stages.append("lower-graph-to-loop")
    if opt_level > 0:
        stages.append("simplify-indices")
    if target == "cuda":
        stages.append("default-schedule{vectorize=false gpu=true}")
    else:
        vectorize = "true" if opt_level > 0 else "false"
        stages.append(f"default-schedule{{vectorize={vectorize} threads={threads}}}")
        if opt_level > 0:
            stages += ["unswitch-guards", "register-accumulators", "absorb-pads", "compact-buffers", "prefetch-panels"]
    stages.append(f"lower-loop-to-device{{target={target}}}")
    return stages


def to_graph_module(model: Any, bind_inputs: dict | None = None) -> ModuleOp:
    is_onnx = type(model).__name__ == "ModelProto" or (isinstance(model, (str, os.PathLike)) and os.fspath(model).endswith(".onnx"))
    if bind_inputs and not is_onnx:
        raise LaminaError("bind_inputs specialises ONNX models; give an ONNX model or path")
    if isinstance(model, ModuleOp):
        return model.clone()
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if path.endswith(".onnx"):
            from lamina.frontend.onnx import from_onnx

            return from_onnx(path, bind_inputs=bind_inputs)
        if os.path.exists(path) and (path.endswith(".mlir") or "\n" not in path):
            with open(path, encoding="utf-8") as f:
                text, name = f.read(), path
        else:
            text, name = path, "<string>"
        from lamina.parser import parse_module

        return parse_module(text, name)
    if type(model).__name__ == "ModelProto":
        from lamina.frontend.onnx import from_onnx

        return from_onnx(model, bind_inputs=bind_inputs)
    raise LaminaError(f"cannot compile a {type(model).__name__}: give a graph module, text IR, an ONNX model or a path")


def graph_function(module: ModuleOp) -> func.FuncOp:
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    if not funcs:
        raise LaminaError("the module has no function to compile")
    return funcs[0]


def _names(fn: func.FuncOp, attr: str, count: int, prefix: str, values) -> list[str]:
    given = fn.attributes.get(attr)
    if isinstance(given, ArrayAttr) and len(given.data) == count:
        return [s.data for s in given.data]
    names = [getattr(v, "name_hint", None) or f"{prefix}{k}" for k, v in enumerate(values)]
    return names if len(set(names)) == len(names) else [f"{prefix}{k}" for k in range(count)]


def signature_of(fn: func.FuncOp) -> ModuleSignature:
    ins = list(fn.function_type.inputs.data)
    outs = list(fn.function_type.outputs.data)
    for t in ins + outs:
        if not isinstance(t, ShapedTypeMixin):
            raise LaminaError(f"@{fn.sym_name.data}: only tensor arguments and results can be compiled, got {t}")
    in_names = _names(fn, INPUT_NAMES_ATTR, len(ins), "input", fn.body.block.args)
    out_names = _names(fn, OUTPUT_NAMES_ATTR, len(outs), "output", [None] * len(outs))
    symbols: list[str] = []
    for t in ins:
        for d in t.shape:
            s = d.as_symbol() if not isinstance(d, int) else None
            if s is not None and s not in symbols:
                symbols.append(s)
    for t in ins + outs:
        for name in sorted(t.symbols()):
            if name not in symbols:
                raise LaminaError(
                    f"@{fn.sym_name.data}: symbol '{name}' is not the size of any input axis, so it cannot be known at run time"
                )
    return ModuleSignature(
        fn.sym_name.data,
        tuple(TensorSpec(n, t.dtype, t.shape) for n, t in zip(in_names, ins)),
        tuple(TensorSpec(n, t.dtype, t.shape) for n, t in zip(out_names, outs)),
        tuple(symbols),
    )


def refuse_unsupported_types(module: ModuleOp) -> None:
    from lamina.ir.diagnostics import location_of
    from lamina.ir.types import f16

    for op in module.walk():
        for v in list(op.results) + [a for r in op.regions for b in r.blocks for a in b.args]:
            if isinstance(v.type, ShapedTypeMixin) and v.type.element_type == f16:
                raise LaminaError("the llvm and c targets do not compile f16 tensors yet (the interpreter runs them)", location_of(op))


def run_passes(
    module: ModuleOp,
    spec: list[str],
    print_ir_after: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    from lamina.dialects.registry import make_context
    from lamina.tools.opt import parse_pipeline_spec

    ctx = make_context()
    verified = VerifiedOps()
    for p in parse_pipeline_spec(",".join(spec)):
        if progress:
            progress(p.name)
        try:
            p.apply(ctx, module)
        except LaminaError:
            raise
        except Exception as e:
            if os.environ.get("LAMINA_DEBUG"):
                raise
            raise LaminaError(f"internal error in pass '{p.name}': {type(e).__name__}: {e} (set LAMINA_DEBUG=1 for a traceback)") from None
        verify_op_tree(module, f"after pass '{p.name}'", verified)
        if print_ir_after and (p.name in print_ir_after or "all" in print_ir_after):
            from lamina.ir.printer import print_module

            sys.stderr.write(f"// -----// IR after {p.name} //----- //\n{print_module(module)}\n")


def compile(  # noqa: A001 - the public name users expect
    model: Any,
    target: str = "llvm",
    threads: int | None = None,
    opt_level: int = 3,
    print_ir_after: set[str] | None = None,
    progress: Callable[[str], None] | None = None,
    bind_inputs: dict | None = None,
):
    """Compile a model for `target` ("llvm": native code for this CPU, in process).
    `bind_inputs` (ONNX models): input name -> value, specialising the model on it; the bound
    inputs become constants and leave the compiled signature."""
    if target not in TARGETS:
        raise LaminaError(f"unknown target '{target}' (targets: {', '.join(TARGETS)})")
    module = to_graph_module(model, bind_inputs)
    verify_op_tree(module)
    refuse_unsupported_types(module)
    fn = graph_function(module)
    signature = signature_of(fn)
    from lamina.runtime.compiled_model import default_threads

    n_threads = default_threads(threads)
    run_passes(module, pipeline(opt_level, n_threads, target), print_ir_after, progress)
    from lamina.lowering.loop_to_device import WORKSPACE_ATTR
    from lamina.targets.llvm_target import ENTRY_ATTR

    entry = next(op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == signature.name)
    entry.attributes[ENTRY_ATTR] = StringAttr("")
    ws_attr = entry.attributes.get(WORKSPACE_ATTR)
    workspace = parse_dim(ws_attr.data) if ws_attr is not None else None
    signature = ModuleSignature(signature.name, signature.inputs, signature.outputs, signature.symbols, str(workspace or 0))
    if progress:
        progress(f"emit {target}")
    if target == "cuda":
        from lamina.targets.cuda_target import build_cuda_module

        return build_cuda_module(module, signature, threads=n_threads, workspace=workspace)
    if target == "c":
        from lamina.targets.c_target import build_c_model

        return build_c_model(module, signature, threads=n_threads, workspace=workspace)
    from lamina.targets.llvm_target import build_llvm_model

    return build_llvm_model(module, signature, threads=n_threads, workspace=workspace, opt_level=max(opt_level, 0))


__all__ = ["compile", "signature_of", "pipeline"]
