"""Convolution, pooling, normalization, softmax and matrix products."""

from __future__ import annotations

import numpy as np

from lamina.frontend.onnx.context import ImportContext, Unsupported, Val, numpy_dtype_of
from lamina.frontend.onnx.registry import converts
from lamina.ir.dims import dim_mul
from lamina.ir.types import element_type_of_numpy


def out(v) -> list[Val]:
    return [Val(ssa=v)]


def _static_spatial(ctx: ImportContext, x: Val, what: str) -> list[int]:
    spatial = list(ctx.shape(x)[2:])
    if not all(isinstance(d, int) for d in spatial):
        raise Unsupported(f"{what} with auto_pad on symbolic spatial sizes")
    return spatial


def resolve_pads(ctx, x: Val, attrs, kernel, strides, dilations) -> list[int]:
    """ONNX pads [b1, b2, e1, e2] in lamina's order [top, left, bottom, right]; auto_pad resolved."""
    n = len(kernel)
    auto = attrs.get("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto in ("NOTSET", ""):
        pads = list(attrs.get("pads", [0] * (2 * n)))
        return pads
    if auto == "VALID":
        return [0] * (2 * n)
    spatial = _static_spatial(ctx, x, ctx.node.op_type)
    lo, hi = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations):
        out_size = -(-size // s)
        total = max(0, (out_size - 1) * s + (k - 1) * d + 1 - size)
        small, big = total // 2, total - total // 2
        if auto == "SAME_UPPER":
            lo.append(small)
            hi.append(big)
        else:
            lo.append(big)
            hi.append(small)
    return lo + hi


def _as_2d(ctx, x: Val):
    """1-D convolution/pooling runs as 2-D with a unit height."""
    rank = ctx.rank(x)
    if rank == 4:
        return ctx.ssa(x), False
    if rank == 3:
        return ctx.emit("unsqueeze", [x], {"axes": [2]}), True
    raise Unsupported(f"{ctx.node.op_type} over {rank - 2} spatial dims (lamina has 1-D and 2-D)")


def _pairs(values, widened: bool, fill: int):
    values = list(values)
    return [fill, *values] if widened else values


def _pads2d(pads, widened):
    if widened:
        return [0, pads[0], 0, pads[1]]
    return pads


@converts("Conv")
def conv(ctx: ImportContext, ins, attrs):
    x, w = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    k = list(attrs.get("kernel_shape") or ctx.shape(w)[2:])
    n = len(k)
    strides = list(attrs.get("strides", [1] * n))
    dilations = list(attrs.get("dilations", [1] * n))
    pads = resolve_pads(ctx, x, attrs, k, strides, dilations)
    x2, widened = _as_2d(ctx, x)
    w2 = ctx.emit("unsqueeze", [w], {"axes": [2]}) if widened else ctx.ssa(w)
    operands = [x2, w2] + ([ctx.ssa(bias)] if bias is not None else [])
    y = ctx.emit(
        "conv2d",
        operands,
        {
            "strides": _pairs(strides, widened, 1),
            "pads": _pads2d(pads, widened),
            "dilations": _pairs(dilations, widened, 1),
            "groups": attrs.get("group", 1),
        },
    )
    return out(ctx.emit("squeeze", [y], {"axes": [2]}) if widened else y)


def _ceil_extra(ctx, x, k, s, d, pads) -> list[int]:
    """Extra end padding that makes floor division give ONNX's ceil_mode output size."""
    spatial = _static_spatial(ctx, x, "ceil_mode")
    n = len(k)
    extra = []
    for i, size in enumerate(spatial):
        span = size + pads[i] + pads[i + n] - ((k[i] - 1) * d[i] + 1)
        floor_out = span // s[i] + 1
        ceil_out = -(-span // s[i]) + 1
        # The last window must start inside the input or the left padding (ONNX rule).
        if (ceil_out - 1) * s[i] >= size + pads[i]:
            ceil_out -= 1
        extra.append((ceil_out - floor_out) * s[i])
    return extra


@converts("MaxPool", "AveragePool")
def pool(ctx, ins, attrs):
    if ctx.node.op_type == "MaxPool" and len(ctx.node.output) > 1 and ctx.node.output[1]:
        raise Unsupported("MaxPool's Indices output")
    x = ins[0]
    k = list(attrs["kernel_shape"])
    n = len(k)
    s = list(attrs.get("strides", [1] * n))
    d = list(attrs.get("dilations", [1] * n))
    pads = resolve_pads(ctx, x, attrs, k, s, d)
    count_include_pad = bool(attrs.get("count_include_pad", 0))
    if attrs.get("ceil_mode", 0):
        extra = _ceil_extra(ctx, x, k, s, d, pads)
        if any(extra) and ctx.node.op_type == "AveragePool" and count_include_pad:
            # The explicit pads count towards the divisor, ceil_mode's extra end cells do not:
            # pad with zeros explicitly, then average over the valid cells.
            x = Val(ssa=ctx.emit("pad", [x], {"pads": [0, 0, *pads[:n], 0, 0, *pads[n:]]}))
            pads, count_include_pad = [0] * n + extra, False
        else:
            pads = pads[:n] + [p + e for p, e in zip(pads[n:], extra)]
    if n == 3:
        return out(_pool3d(ctx, x, k, s, d, pads, count_include_pad))
    x2, widened = _as_2d(ctx, x)
    attrs2 = {"kernel": _pairs(k, widened, 1), "strides": _pairs(s, widened, 1), "pads": _pads2d(pads, widened), "dilations": _pairs(d, widened, 1)}
    if ctx.node.op_type == "AveragePool":
        attrs2["count_include_pad"] = count_include_pad
        y = ctx.emit("avg_pool2d", [x2], attrs2)
    else:
        y = ctx.emit("max_pool2d", [x2], attrs2)
    return out(ctx.emit("squeeze", [y], {"axes": [2]}) if widened else y)


def _pool3d(ctx, x: Val, k, s, d, pads, count_include_pad: bool):
    """Pooling over (D, H, W) as two 2-D poolings: over (H, W) with D folded into the channels,
    then over D with H'*W' as the width. Exact for max, and for averages too: the window is a
    box, so its (valid) cell count is the product of the per-axis counts."""
    n_, c, depth, _, _ = ctx.shape(x)
    is_avg = ctx.node.op_type == "AveragePool"
    name = "avg_pool2d" if is_avg else "max_pool2d"
    extra = {"count_include_pad": count_include_pad} if is_avg else {}
    hw = ctx.emit("reshape", [x], {"shape": [n_, dim_mul(c, depth), *ctx.shape(x)[3:]]})
    hw = ctx.emit(name, [hw], {"kernel": k[1:], "strides": s[1:], "pads": [pads[1], pads[2], pads[4], pads[5]], "dilations": d[1:], **extra})
    oh, ow = hw.type.shape[2:]
    by_depth = ctx.emit("reshape", [hw], {"shape": [n_, c, depth, dim_mul(oh, ow)]})
    y = ctx.emit(name, [by_depth], {"kernel": [k[0], 1], "strides": [s[0], 1], "pads": [pads[0], 0, pads[3], 0], "dilations": [d[0], 1], **extra})
    return ctx.emit("reshape", [y], {"shape": [n_, c, y.type.shape[2], oh, ow]})


@converts("GlobalAveragePool", "GlobalMaxPool")
def global_pool(ctx, ins, attrs):
    name = "global_avg_pool2d" if ctx.node.op_type == "GlobalAveragePool" else "global_max_pool2d"
    return out(ctx.emit(name, [ins[0]]))


@converts("BatchNormalization")
def batch_norm(ctx, ins, attrs):
    if attrs.get("training_mode", 0) or len([o for o in ctx.node.output if o]) > 1:
        raise Unsupported("BatchNormalization in training mode")
    x, scale, bias, mean, var = ins[:5]
    return out(ctx.emit("batch_norm", [x, scale, bias, mean, var], {"epsilon": attrs.get("epsilon", 1e-5)}))


def _normalize(ctx, x, axes, eps):
    dtype = ctx.dtype(x)
    mean = ctx.emit("reduce_mean", [x], {"axes": axes})
    centered = ctx.emit("sub", [x, mean])
    var = ctx.emit("reduce_mean", [ctx.emit("mul", [centered, centered])], {"axes": axes})
    return ctx.emit("div", [centered, ctx.emit("sqrt", [ctx.emit("add", [var, ctx.scalar(eps, dtype)])])])


def _per_channel(ctx, v, rank):
    return ctx.emit("reshape", [v], {"shape": [-1] + [1] * (rank - 2)})


@converts("InstanceNormalization")
def instance_norm(ctx, ins, attrs):
    x, scale, bias = ins
    rank = ctx.rank(x)
    y = _normalize(ctx, x, list(range(2, rank)), attrs.get("epsilon", 1e-5))
    return out(ctx.emit("add", [ctx.emit("mul", [y, _per_channel(ctx, scale, rank)]), _per_channel(ctx, bias, rank)]))


@converts("GroupNormalization")
def group_norm(ctx, ins, attrs):
    x, scale, bias = ins
    groups = attrs["num_groups"]
    shape = ctx.shape(x)
    rank = len(shape)
    c = shape[1]
    if not isinstance(c, int):
        raise Unsupported("GroupNormalization with a symbolic channel count")
    grouped = ctx.emit("reshape", [x], {"shape": [shape[0], groups, -1]})
    y = _normalize(ctx, Val(ssa=grouped), [2], attrs.get("epsilon", 1e-5))
    y = ctx.emit("reshape", [y], {"shape": list(shape)})
    s_shape = ctx.shape(scale)
    if s_shape[0] == groups and groups != c:
        # Opset 18: one scale per group, repeated over the group's channels.
        per = c // groups
        scale = Val(ssa=ctx.emit("reshape", [ctx.emit("broadcast_to", [ctx.emit("reshape", [scale], {"shape": [groups, 1]})], {"shape": [groups, per]})], {"shape": [c]}))
        bias = Val(ssa=ctx.emit("reshape", [ctx.emit("broadcast_to", [ctx.emit("reshape", [bias], {"shape": [groups, 1]})], {"shape": [groups, per]})], {"shape": [c]}))
    return out(ctx.emit("add", [ctx.emit("mul", [y, _per_channel(ctx, scale, rank)]), _per_channel(ctx, bias, rank)]))


def _layer_norm_with_statistics(ctx, x, scale, bias, axis, eps, stash_type):
    """LayerNormalization asked for its Mean and InvStdDev outputs as well: the decomposition,
    computed in the stash type (float32 by default) with Y cast back to x's type."""
    x_dtype = ctx.dtype(x)
    stash = numpy_dtype_of(stash_type)
    if stash.kind != "f":
        raise Unsupported(f"LayerNormalization with stash_type {stash}")
    xs = ctx.ssa(x) if x_dtype == stash else ctx.emit("cast", [x], {"to": element_type_of_numpy(stash)})
    axes = list(range(axis, ctx.rank(x)))
    mean = ctx.emit("reduce_mean", [xs], {"axes": axes})
    centered = ctx.emit("sub", [xs, mean])
    var = ctx.emit("reduce_mean", [ctx.emit("mul", [centered, centered])], {"axes": axes})
    inv_std = ctx.emit("reciprocal", [ctx.emit("sqrt", [ctx.emit("add", [var, ctx.scalar(eps, stash)])])])
    y = ctx.emit("mul", [centered, inv_std])
    if y.type.dtype != x_dtype:
        y = ctx.emit("cast", [y], {"to": element_type_of_numpy(x_dtype)})
    if scale is not None:
        y = ctx.emit("mul", [y, scale])
    if bias is not None:
        y = ctx.emit("add", [y, bias])
    return [Val(ssa=y), Val(ssa=mean), Val(ssa=inv_std)]


@converts("LayerNormalization")
def layer_norm(ctx, ins, attrs):
    x = ins[0]
    axis = attrs.get("axis", -1)
    rank = ctx.rank(x)
    axis %= rank
    if len([o for o in ctx.node.output[1:] if o]):
        scale = ins[1] if len(ins) > 1 else None
        bias = ins[2] if len(ins) > 2 else None
        return _layer_norm_with_statistics(ctx, x, scale, bias, axis, attrs.get("epsilon", 1e-5), attrs.get("stash_type", 1))
    params = [p for p in ins[1:] if p is not None]
    want = list(ctx.shape(x)[axis:])
    fixed = []
    for p in params:
        if list(ctx.shape(p)) != want:
            p = Val(ssa=ctx.emit("broadcast_to", [p], {"shape": want}))
        fixed.append(p)
    if len(fixed) == 1 and len(params) == 1 and len(ins) > 2 and ins[1] is None:
        raise Unsupported("LayerNormalization with a bias but no scale")
    return out(ctx.emit("layer_norm", [x, *fixed], {"axis": axis, "epsilon": attrs.get("epsilon", 1e-5)}))


@converts("Softmax", "LogSoftmax")
def softmax(ctx, ins, attrs):
    name = "softmax" if ctx.node.op_type == "Softmax" else "log_softmax"
    x = ins[0]
    rank = ctx.rank(x)
    if ctx.opset >= 13:
        return out(ctx.emit(name, [x], {"axis": attrs.get("axis", -1)}))
    # Before opset 13 the input is viewed as 2-D at `axis` and normalised over the second part.
    axis = attrs.get("axis", 1) % max(rank, 1)
    if axis == rank - 1:
        return out(ctx.emit(name, [x], {"axis": -1}))
    shape = list(ctx.shape(x))
    flat = ctx.emit("flatten", [x], {"axis": axis})
    return out(ctx.emit("reshape", [ctx.emit(name, [flat], {"axis": -1})], {"shape": shape}))


@converts("MatMul")
def matmul(ctx, ins, attrs):
    return out(ctx.emit("matmul", ins))


@converts("Gemm")
def gemm(ctx, ins, attrs):
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    if attrs.get("transA", 0):
        a = Val(ssa=ctx.emit("transpose", [a], {"perm": [1, 0]}))
    if attrs.get("transB", 0):
        bc = ctx.constant_value(b)
        b = Val(ssa=ctx.constant(np.ascontiguousarray(bc.T))) if bc is not None and b.ssa is None else Val(ssa=ctx.emit("transpose", [b], {"perm": [1, 0]}))
    y = ctx.emit("matmul", [a, b])
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    dtype = ctx.dtype(ins[0])
    if alpha != 1.0:
        y = ctx.emit("mul", [y, ctx.scalar(alpha, dtype)])
    if c is not None and beta != 0.0:
        cv = ctx.ssa(c) if beta == 1.0 else ctx.emit("mul", [c, ctx.scalar(beta, dtype)])
        y = ctx.emit("add", [y, cv])
    return out(y)


@converts("Flatten")
def flatten(ctx, ins, attrs):
    axis = attrs.get("axis", 1)
    return out(ctx.emit("flatten", [ins[0]], {"axis": axis % max(ctx.rank(ins[0]), 1) if axis < 0 else axis}))
