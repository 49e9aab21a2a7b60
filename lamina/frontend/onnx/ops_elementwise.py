"""Elementwise and activation ops. Activations without a graph op of their own are written as
the exact formula over existing ops (Elu, Selu, HardSigmoid, HardSwish, Mish, Softplus, ...)."""

from __future__ import annotations

import numpy as np

from lamina.frontend.onnx.context import ImportContext, Unsupported, Val, dims_binary, numpy_dtype_of
from lamina.frontend.onnx.registry import converts
from lamina.ir.types import element_type_of_numpy

UNARY = {
    "Abs": "abs", "Ceil": "ceil", "Cos": "cos", "Erf": "erf", "Exp": "exp", "Floor": "floor", "Log": "log",
    "Neg": "neg", "Not": "not", "Reciprocal": "reciprocal", "Relu": "relu", "Round": "round", "Sigmoid": "sigmoid",
    "Sign": "sign", "Sin": "sin", "Sqrt": "sqrt", "Tanh": "tanh",
}  # fmt: skip
BINARY = {
    "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Equal": "equal", "Less": "less",
    "LessOrEqual": "less_equal", "Greater": "greater", "GreaterOrEqual": "greater_equal", "And": "and", "Or": "or",
    "Xor": "xor",
}  # fmt: skip


def out(v) -> list[Val]:
    return [Val(ssa=v)]


@converts(*UNARY)
def unary(ctx: ImportContext, ins, attrs):
    return out(ctx.emit(UNARY[ctx.node.op_type], [ins[0]]))


@converts(*BINARY)
def binary(ctx: ImportContext, ins, attrs):
    a, b = ins
    op = ctx.node.op_type
    if op in ("Add", "Sub", "Mul", "Div") and (a.dims is not None or b.dims is not None):
        dims = dims_binary(op, ctx.shape_dims(a, "shape arithmetic"), ctx.shape_dims(b, "shape arithmetic"))
        if dims is not None:
            return [Val(dims=dims, scalar=bool(a.scalar or a.const is not None and a.const.ndim == 0) and bool(b.scalar or b.const is not None and b.const.ndim == 0))]
    if op == "Pow" and ctx.dtype(a) != ctx.dtype(b):
        b = Val(ssa=ctx.emit("cast", [b], {"to": element_type_of_numpy(ctx.dtype(a))}))
    return out(ctx.emit(BINARY[op], [a, b]))


@converts("Mod")
def mod(ctx, ins, attrs):
    a, b = ins
    if attrs.get("fmod", 0):
        return out(ctx.emit("mod", [a, b]))
    # fmod=0 takes the divisor's sign (Python's %, numpy.mod), for integers and floats alike:
    # r = fmod(a, b); r + b where r is nonzero and r and b differ in sign. NaN stays NaN
    # (x % 0, inf % b) and a finite a with b = ±inf gives a, or ±inf when the signs differ.
    r = ctx.emit("mod", [a, b])
    zero = ctx.scalar(0, ctx.dtype(a))
    fix = ctx.emit("and", [ctx.emit("not", [ctx.emit("equal", [r, zero])]), ctx.emit("xor", [ctx.emit("less", [r, zero]), ctx.emit("less", [b, zero])])])
    return out(ctx.emit("where", [fix, ctx.emit("add", [r, b]), r]))


def variadic(name):
    def convert(ctx, ins, attrs):
        acc = ctx.ssa(ins[0])
        for v in ins[1:]:
            acc = ctx.emit(name, [acc, v])
        return acc

    return convert


@converts("Max", "Min", "Sum")
def max_min_sum(ctx, ins, attrs):
    name = {"Max": "maximum", "Min": "minimum", "Sum": "add"}[ctx.node.op_type]
    return out(variadic(name)(ctx, ins, attrs))


@converts("Mean")
def mean(ctx, ins, attrs):
    total = variadic("add")(ctx, ins, attrs)
    return out(ctx.emit("div", [total, ctx.scalar(len(ins), ctx.dtype(ins[0]))]))


@converts("Identity", "Dropout")
def identity(ctx, ins, attrs):
    if ctx.node.op_type == "Dropout" and len(ins) > 2 and ins[2] is not None:
        training = ctx.constant_value(ins[2])
        if training is None or bool(np.asarray(training).reshape(-1)[0]):
            raise Unsupported("Dropout in training mode (lamina compiles inference)")
    if ctx.node.op_type == "Dropout" and len(ctx.node.output) > 1 and ctx.node.output[1]:
        mask = ctx.constant(np.ones([int(d) for d in ctx.shape(ins[0])], dtype=np.bool_)) if all(isinstance(d, int) for d in ctx.shape(ins[0])) else None
        if mask is None:
            raise Unsupported("Dropout's mask output with a symbolic shape")
        return [ins[0], Val(ssa=mask)]
    return [ins[0]]


@converts("Where")
def where(ctx, ins, attrs):
    return out(ctx.emit("where", ins))


@converts("Cast")
def cast(ctx, ins, attrs):
    to = numpy_dtype_of(attrs["to"])
    v = ins[0]
    if v.dims is not None and v.ssa is None and to == np.int64:
        return [v]
    return out(ctx.emit("cast", [v], {"to": element_type_of_numpy(to)}))


@converts("CastLike")
def cast_like(ctx, ins, attrs):
    return out(ctx.emit("cast", [ins[0]], {"to": element_type_of_numpy(ctx.dtype(ins[1]))}))


@converts("Clip")
def clip(ctx, ins, attrs):
    x = ins[0]
    if ctx.opset < 11:
        lo, hi = attrs.get("min"), attrs.get("max")
    else:
        lo_v = ctx.constant_value(ins[1]) if len(ins) > 1 and ins[1] is not None else None
        hi_v = ctx.constant_value(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        if (len(ins) > 1 and ins[1] is not None and lo_v is None) or (len(ins) > 2 and ins[2] is not None and hi_v is None):
            y = ctx.ssa(x)
            if len(ins) > 1 and ins[1] is not None:
                y = ctx.emit("maximum", [y, ins[1]])
            if len(ins) > 2 and ins[2] is not None:
                y = ctx.emit("minimum", [y, ins[2]])
            return out(y)
        lo = float(lo_v) if lo_v is not None else None
        hi = float(hi_v) if hi_v is not None else None
    if np.issubdtype(ctx.dtype(x), np.integer):
        y = ctx.ssa(x)
        if lo is not None:
            y = ctx.emit("maximum", [y, ctx.scalar(lo, ctx.dtype(x))])
        if hi is not None:
            y = ctx.emit("minimum", [y, ctx.scalar(hi, ctx.dtype(x))])
        return out(y)
    return out(ctx.emit("clip", [x], {"min": lo, "max": hi}))


@converts("LeakyRelu")
def leaky_relu(ctx, ins, attrs):
    return out(ctx.emit("leaky_relu", [ins[0]], {"alpha": attrs.get("alpha", 0.01)}))


@converts("Gelu")
def gelu(ctx, ins, attrs):
    return out(ctx.emit("gelu", [ins[0]], {"approximate": attrs.get("approximate", "none")}))


def _c(ctx, x, value):
    return ctx.scalar(value, ctx.dtype(x))


@converts("Elu")
def elu(ctx, ins, attrs):
    x = ins[0]
    alpha = attrs.get("alpha", 1.0)
    neg = ctx.emit("mul", [ctx.emit("sub", [ctx.emit("exp", [x]), _c(ctx, x, 1.0)]), _c(ctx, x, alpha)])
    return out(ctx.emit("where", [ctx.emit("greater", [x, _c(ctx, x, 0.0)]), ctx.ssa(x), neg]))


@converts("Selu")
def selu(ctx, ins, attrs):
    x = ins[0]
    alpha = attrs.get("alpha", 1.67326319217681884765625)
    gamma = attrs.get("gamma", 1.05070102214813232421875)
    neg = ctx.emit("mul", [ctx.emit("sub", [ctx.emit("exp", [x]), _c(ctx, x, 1.0)]), _c(ctx, x, alpha)])
    y = ctx.emit("where", [ctx.emit("greater", [x, _c(ctx, x, 0.0)]), ctx.ssa(x), neg])
    return out(ctx.emit("mul", [y, _c(ctx, x, gamma)]))


@converts("HardSigmoid")
def hard_sigmoid(ctx, ins, attrs):
    x = ins[0]
    y = ctx.emit("add", [ctx.emit("mul", [x, _c(ctx, x, attrs.get("alpha", 0.2))]), _c(ctx, x, attrs.get("beta", 0.5))])
    return out(ctx.emit("clip", [y], {"min": 0.0, "max": 1.0}))


@converts("HardSwish")
def hard_swish(ctx, ins, attrs):
    x = ins[0]
    y = ctx.emit("add", [ctx.emit("mul", [x, _c(ctx, x, 1 / 6)]), _c(ctx, x, 0.5)])
    return out(ctx.emit("mul", [x, ctx.emit("clip", [y], {"min": 0.0, "max": 1.0})]))


def _softplus(ctx, x):
    # log(1 + exp(x)) computed as max(x, 0) + log(1 + exp(-|x|)) so large x does not overflow.
    t = ctx.emit("log", [ctx.emit("add", [_c(ctx, x, 1.0), ctx.emit("exp", [ctx.emit("neg", [ctx.emit("abs", [x])])])])])
    return ctx.emit("add", [ctx.emit("relu", [x]), t])


@converts("Softplus")
def softplus(ctx, ins, attrs):
    return out(_softplus(ctx, ins[0]))


@converts("Softsign")
def softsign(ctx, ins, attrs):
    x = ins[0]
    return out(ctx.emit("div", [x, ctx.emit("add", [_c(ctx, x, 1.0), ctx.emit("abs", [x])])]))


@converts("Mish")
def mish(ctx, ins, attrs):
    x = ins[0]
    return out(ctx.emit("mul", [x, ctx.emit("tanh", [_softplus(ctx, x)])]))


@converts("PRelu")
def prelu(ctx, ins, attrs):
    x, slope = ins
    zero = _c(ctx, x, 0.0)
    return out(ctx.emit("where", [ctx.emit("less", [x, zero]), ctx.emit("mul", [x, slope]), ctx.ssa(x)]))


@converts("ThresholdedRelu")
def thresholded_relu(ctx, ins, attrs):
    x = ins[0]
    return out(ctx.emit("where", [ctx.emit("greater", [x, _c(ctx, x, attrs.get("alpha", 1.0))]), ctx.ssa(x), _c(ctx, x, 0.0)]))
