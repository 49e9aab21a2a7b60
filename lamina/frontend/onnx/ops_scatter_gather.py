"""Element-wise indexing: GatherElements and ScatterND, each one graph op."""

from __future__ import annotations

from lamina.frontend.onnx.context import Unsupported, Val
from lamina.frontend.onnx.registry import converts


@converts("GatherElements")
def gather_elements(ctx, ins, attrs):
    x, idx = ins
    return [Val(ssa=ctx.emit("gather_elements", [x, idx], {"axis": attrs.get("axis", 0)}))]


@converts("ScatterND")
def scatter_nd(ctx, ins, attrs):
    data, idx, updates = ins
    reduction = attrs.get("reduction", "none")
    if reduction not in ("none", "add", "mul", "max", "min"):
        raise Unsupported(f"ScatterND reduction '{reduction}'")
    return [Val(ssa=ctx.emit("scatter_nd", [data, idx, updates], {"reduction": reduction}))]
