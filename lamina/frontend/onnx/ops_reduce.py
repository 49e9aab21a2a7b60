"""Reductions. ReduceL1/L2/LogSumExp/SumSquare are written over reduce_sum/reduce_max."""

from __future__ import annotations

from lamina.frontend.onnx.context import Unsupported, Val
from lamina.frontend.onnx.registry import converts

DIRECT = {"ReduceSum": "reduce_sum", "ReduceMean": "reduce_mean", "ReduceMax": "reduce_max", "ReduceMin": "reduce_min", "ReduceProd": "reduce_prod"}
AXES_AS_INPUT_SINCE = {"ReduceSum": 13}


def out(v) -> list[Val]:
    return [Val(ssa=v)]


def _axes(ctx, ins, attrs) -> list[int] | None:
    since = AXES_AS_INPUT_SINCE.get(ctx.node.op_type, 18)
    if ctx.opset >= since:
        axes = ctx.static_ints(ins[1], "reduction axes") if len(ins) > 1 and ins[1] is not None else None
    else:
        axes = list(attrs["axes"]) if "axes" in attrs else None
    if axes == [] or axes is None:
        return None
    return axes


@converts(*DIRECT, "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "ReduceLogSum")
def reduce(ctx, ins, attrs):
    x = ins[0]
    axes = _axes(ctx, ins, attrs)
    keep = bool(attrs.get("keepdims", 1))
    if axes is None and attrs.get("noop_with_empty_axes", 0):
        return [x]
    if axes is None:
        axes = list(range(ctx.rank(x)))
    op = ctx.node.op_type
    a = {"axes": axes, "keepdims": keep}
    if any(isinstance(d, int) and d == 0 for d in ctx.shape(x)):
        raise Unsupported(f"{op} over an empty tensor")
    if op in DIRECT:
        return out(ctx.emit(DIRECT[op], [x], a))
    if op == "ReduceL1":
        return out(ctx.emit("reduce_sum", [ctx.emit("abs", [x])], a))
    if op == "ReduceSumSquare":
        return out(ctx.emit("reduce_sum", [ctx.emit("mul", [x, x])], a))
    if op == "ReduceL2":
        return out(ctx.emit("sqrt", [ctx.emit("reduce_sum", [ctx.emit("mul", [x, x])], a)]))
    if op == "ReduceLogSum":
        return out(ctx.emit("log", [ctx.emit("reduce_sum", [x], a)]))
    # log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the max, so large inputs do not overflow.
    m = ctx.emit("reduce_max", [x], {"axes": axes, "keepdims": True})
    s = ctx.emit("reduce_sum", [ctx.emit("exp", [ctx.emit("sub", [x, m])])], a)
    m_out = m if keep else ctx.emit("reduce_max", [x], a)
    return out(ctx.emit("add", [ctx.emit("log", [s]), m_out]))


@converts("ArgMax", "ArgMin")
def arg_reduce(ctx, ins, attrs):
    name = "argmax" if ctx.node.op_type == "ArgMax" else "argmin"
    a = {"axis": attrs.get("axis", 0), "keepdims": bool(attrs.get("keepdims", 1)), "select_last_index": bool(attrs.get("select_last_index", 0))}
    return out(ctx.emit(name, [ins[0]], a))


@converts("CumSum")
def cumsum(ctx, ins, attrs):
    (axis,) = ctx.static_ints(ins[1], "CumSum axis")
    a = {"axis": axis, "exclusive": bool(attrs.get("exclusive", 0)), "reverse": bool(attrs.get("reverse", 0))}
    return out(ctx.emit("cumsum", [ins[0]], a))


@converts("TopK")
def top_k(ctx, ins, attrs):
    if ctx.opset >= 10:
        (k,) = ctx.static_ints(ins[1], "TopK k")
    else:
        k = attrs["k"]
    # sorted=0 leaves the order to the implementation; lamina always sorts.
    a = {"axis": attrs.get("axis", -1), "k": k, "largest": bool(attrs.get("largest", 1))}
    return [Val(ssa=v) for v in ctx.emit_many("top_k", [ins[0]], a)]
