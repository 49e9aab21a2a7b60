"""Reductions. ReduceL1/L2/LogSumExp/SumSquare are written over reduce_sum/reduce_max."""

from __future__ import annotations

import numpy as np

from lamina.frontend.onnx.context import Unsupported, Val
from lamina.frontend.onnx.registry import converts
from lamina.ir.types import element_type_of_numpy

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
        return [Val(const=_empty_reduction(ctx, x, op, axes, keep))]
    if op in ("ReduceMax", "ReduceMin") and ctx.dtype(x) == np.bool_:
        # Over bool, max is any and min is all: reduce the values as i8.
        as_int = ctx.emit("cast", [x], {"to": element_type_of_numpy(np.int8)})
        return out(ctx.emit("cast", [ctx.emit(DIRECT[op], [as_int], a)], {"to": element_type_of_numpy(np.bool_)}))
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


def _identity(op: str, dtype: np.dtype):
    """What a reduction over no elements gives (as onnxruntime does)."""
    if op in ("ReduceSum", "ReduceL1", "ReduceL2", "ReduceSumSquare"):
        return 0
    if op == "ReduceProd":
        return 1
    if op in ("ReduceMax", "ReduceMin"):
        high = op == "ReduceMin"
        if dtype == np.bool_:
            return high
        if np.issubdtype(dtype, np.floating):
            return np.inf if high else -np.inf
        return np.iinfo(dtype).max if high else np.iinfo(dtype).min
    if op in ("ReduceLogSum", "ReduceLogSumExp") and np.issubdtype(dtype, np.floating):
        return -np.inf  # log of an empty sum
    if op == "ReduceMean" and np.issubdtype(dtype, np.floating):
        return np.nan  # 0 / 0
    raise Unsupported(f"{op} of {dtype} over an empty axis")


def _empty_reduction(ctx, x: Val, op: str, axes: list[int], keep: bool) -> np.ndarray:
    """A reduction of a tensor with a 0-size dim is known at import time: the identity where a
    reduced axis is empty, an empty result where a kept axis is."""
    shape = ctx.shape(x)
    if not all(isinstance(d, int) for d in shape):
        raise Unsupported(f"{op} over an empty tensor with symbolic dims")
    rank = len(shape)
    reduced = {a % rank for a in axes}
    out_shape = [1 if k in reduced else d for k, d in enumerate(shape) if keep or k not in reduced]
    dtype = ctx.dtype(x)
    return np.full(out_shape, _identity(op, dtype), dtype)


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
