"""The graph dialect (Relax's level): pure ops over immutable tensors, one row each.

Functions and returns are xDSL's `func.func` / `func.return`; the table below is every graph
op. Each row's `reference` is the numpy semantics the interpreter runs and every lowering is
tested against.
"""

from __future__ import annotations

import numpy as np
from xdsl.traits import ConstantLike, Pure

from lamina.dialects import graph_reference as ref
from lamina.dialects import graph_rules as rules
from lamina.dialects import winograd
from lamina.ir.dense import DenseElementsAttr
from lamina.ir.optable import Attr, Operand, OpRow, Result, build_dialect
from lamina.ir.types import numpy_dtype
from lamina.lowering import rule_builders as rb

X = (Operand("x"),)
XF = (Operand("x", dtypes="float"),)
LR = (Operand("lhs"), Operand("rhs", dtypes="same"))
LRN = (Operand("lhs", dtypes="numeric"), Operand("rhs", dtypes="same"))
OUT = (Result("out"),)
PURE = (Pure,)
INT64_MAX = 2**63 - 1


def unary(name, fn, dtypes="numeric", attrs=(), summary="", compute=None, lowering=None):
    return OpRow(
        name,
        (Operand("x", dtypes=dtypes),),
        OUT,
        attrs,
        traits=PURE,
        infer=rules.same_as_operand,
        fusion="elementwise",
        reference=fn,
        compute=compute,
        lowering=lowering,
        summary=summary or f"elementwise {name}",
    )


def binary(name, fn, operands=LRN, summary="", compute=None):
    return OpRow(
        name,
        operands,
        OUT,
        traits=PURE,
        infer=rules.broadcast_same_dtype,
        fusion="broadcast",
        reference=fn,
        compute=compute,
        summary=summary or f"elementwise {name} with numpy broadcasting",
    )


def compare(name, fn, compute=None):
    return OpRow(
        name,
        LR,
        OUT,
        traits=PURE,
        infer=rules.broadcast_to_bool,
        fusion="broadcast",
        reference=fn,
        compute=compute,
        summary=f"elementwise {name}, broadcasting, giving i1",
    )


def reduction(name, fn, dtypes="numeric", lowering=None):
    return OpRow(
        name,
        (Operand("x", dtypes=dtypes),),
        OUT,
        (Attr("axes", "ints", default=None, doc="reduced axes; all when absent"), Attr("keepdims", "bool", default=True)),
        traits=PURE,
        infer=rules.reduce_rule,
        fusion="reduction",
        reference=ref.reduce(fn),
        lowering=lowering,
        summary=f"{name} over axes",
    )


POOL_ATTRS = (
    Attr("kernel", "ints"),
    Attr("strides", "ints", default=(1, 1)),
    Attr("pads", "ints", default=(0, 0, 0, 0), doc="top, left, bottom, right"),
    Attr("dilations", "ints", default=(1, 1)),
    Attr("ceil_mode", "bool", default=False),
)


def _const_check(view):
    (t,) = rules.const_rule(view)
    if view.result_types and view.result_types[0] != t:
        raise rules.ShapeError(f"value of type {t} does not match the result type {view.result_types[0]}")


TABLE = [
    # ---- constants
    OpRow(
        "const",
        (),
        OUT,
        (Attr("value", "dense", positional=True),),
        traits=(Pure, ConstantLike),
        infer=rules.const_rule,
        fusion="opaque",
        reference=lambda *, value: value,
        summary="a constant tensor (numpy-backed)",
    ),
    # ---- elementwise arithmetic
    binary("add", np.add, compute="out[...] = lhs[...] + rhs[...]"),
    binary("sub", np.subtract, compute="out[...] = lhs[...] - rhs[...]"),
    binary("mul", np.multiply, compute="out[...] = lhs[...] * rhs[...]"),
    binary("div", ref.div, compute="out[...] = lhs[...] / rhs[...]"),
    binary("pow", ref.power, compute="out[...] = pow(lhs[...], rhs[...])"),
    binary("maximum", np.maximum, compute="out[...] = max(lhs[...], rhs[...])"),
    binary("minimum", np.minimum, compute="out[...] = min(lhs[...], rhs[...])"),
    binary("mod", np.fmod, compute="out[...] = lhs[...] % rhs[...]", summary="remainder with the sign of the dividend (C fmod)"),
    unary("neg", np.negative, compute="out[...] = -x[...]"),
    unary("abs", np.abs, compute="out[...] = abs(x[...])"),
    unary("exp", np.exp, "float", compute="out[...] = exp(x[...])"),
    unary("log", np.log, "float", compute="out[...] = log(x[...])"),
    unary("sqrt", np.sqrt, "float", compute="out[...] = sqrt(x[...])"),
    unary("rsqrt", lambda x: (1 / np.sqrt(x)).astype(x.dtype), "float", compute="out[...] = rsqrt(x[...])"),
    unary("tanh", np.tanh, "float", compute="out[...] = tanh(x[...])"),
    unary("sigmoid", ref.sigmoid, "float", compute="out[...] = 1 / (1 + exp(-x[...]))"),
    unary("erf", ref.erf, "float", compute="out[...] = erf(x[...])"),
    unary("sin", np.sin, "float", compute="out[...] = sin(x[...])"),
    unary("cos", np.cos, "float", compute="out[...] = cos(x[...])"),
    unary("floor", np.floor, "float", compute="out[...] = floor(x[...])"),
    unary("ceil", np.ceil, "float", compute="out[...] = ceil(x[...])"),
    unary("round", np.round, "float", compute="out[...] = round(x[...])", summary="round half to even"),
    unary("sign", np.sign, compute="out[...] = sign(x[...])"),
    unary("reciprocal", lambda x: (1 / x).astype(x.dtype), "float", compute="out[...] = 1 / x[...]"),
    unary("relu", lambda x: np.maximum(x, np.zeros((), x.dtype)), compute="out[...] = max(x[...], 0)"),
    unary(
        "leaky_relu",
        lambda x, *, alpha: np.where(x >= 0, x, x * np.asarray(alpha, x.dtype)).astype(x.dtype),
        "float",
        (Attr("alpha", "float", default=0.01),),
        compute="out[...] = select(x[...] >= 0, x[...], x[...] * alpha)",
    ),
    unary("gelu", ref.gelu, "float", (Attr("approximate", "str", default="none", choices=("none", "tanh")),), lowering=rb.gelu),
    unary("clip", ref.clip, "numeric", (Attr("min", "float", default=None), Attr("max", "float", default=None)), lowering=rb.clip),
    unary("not", np.logical_not, "bool", compute="out[...] = not(x[...])"),
    OpRow(
        "cast",
        X,
        OUT,
        (Attr("to", "type"),),
        traits=PURE,
        infer=rules.cast_rule,
        fusion="elementwise",
        reference=lambda x, *, to: x.astype(numpy_dtype(to)),
        compute="out[...] = cast(x[...])",
        summary="convert the element type",
    ),
    OpRow(
        "where",
        (Operand("cond", dtypes="bool"), Operand("lhs"), Operand("rhs")),
        OUT,
        traits=PURE,
        infer=rules.where_rule,
        fusion="broadcast",
        reference=lambda c, a, b: np.where(c, a, b),
        compute="out[...] = select(cond[...], lhs[...], rhs[...])",
        summary="select lhs where cond holds, else rhs (broadcasting)",
    ),
    compare("equal", np.equal, compute="out[...] = lhs[...] == rhs[...]"),
    compare("less", np.less, compute="out[...] = lhs[...] < rhs[...]"),
    compare("less_equal", np.less_equal, compute="out[...] = lhs[...] <= rhs[...]"),
    compare("greater", np.greater, compute="out[...] = lhs[...] > rhs[...]"),
    compare("greater_equal", np.greater_equal, compute="out[...] = lhs[...] >= rhs[...]"),
    binary("and", np.logical_and, (Operand("lhs", dtypes="bool"), Operand("rhs", dtypes="bool")), compute="out[...] = and(lhs[...], rhs[...])"),
    binary("or", np.logical_or, (Operand("lhs", dtypes="bool"), Operand("rhs", dtypes="bool")), compute="out[...] = or(lhs[...], rhs[...])"),
    binary("xor", np.logical_xor, (Operand("lhs", dtypes="bool"), Operand("rhs", dtypes="bool")), compute="out[...] = xor(lhs[...], rhs[...])"),
    # ---- contractions and windows
    OpRow(
        "matmul",
        (Operand("lhs", dtypes="numeric"), Operand("rhs", dtypes="same")),
        OUT,
        traits=PURE,
        infer=rules.matmul_rule,
        fusion="out-fusable",
        reference=ref.matmul,
        lowering=rb.matmul,
        summary="batched matrix product with numpy.matmul broadcasting",
    ),
    OpRow(
        "conv2d",
        (Operand("x", dtypes="numeric"), Operand("weight", dtypes="same"), Operand("bias", dtypes="same", optional=True)),
        OUT,
        (
            Attr("strides", "ints", default=(1, 1)),
            Attr("pads", "ints", default=(0, 0, 0, 0), doc="top, left, bottom, right"),
            Attr("dilations", "ints", default=(1, 1)),
            Attr("groups", "int", default=1),
        ),
        traits=PURE,
        infer=rules.conv2d_rule,
        fusion="out-fusable",
        reference=ref.conv2d,
        lowering=rb.conv2d,
        summary="2-D convolution, NCHW input, OIHW weight",
    ),
    OpRow(
        "winograd_input",
        (Operand("x", dtypes="float"),),
        OUT,
        (
            Attr("tiles", "ints", doc="tile rows and columns (TH, TW) per image"),
            Attr("output_tile", "int", default=2, doc="m of F(m x m, 3x3): 2 or 4"),
        ),
        traits=PURE,
        infer=winograd.input_rule,
        fusion="opaque",
        reference=winograd.input_reference,
        lowering=winograd.input_compute,
        summary="Winograd F(m x m, 3x3) input transform: padded NHWC -> [(m+2)^2, N*TH*TW, C] (lamina.dialects.winograd)",
    ),
    OpRow(
        "winograd_output",
        (Operand("m", dtypes="float"),),
        OUT,
        (Attr("size", "ints", doc="output height and width"),),
        traits=PURE,
        infer=winograd.output_rule,
        fusion="opaque",
        reference=winograd.output_reference,
        lowering=winograd.output_compute,
        summary="Winograd F(m x m, 3x3) output transform: [(m+2)^2, N*TH*TW, O] -> NHWC [N, H, W, O]",
    ),
    OpRow("max_pool2d", (Operand("x", dtypes="numeric"),), OUT, POOL_ATTRS, traits=PURE, infer=rules.pool2d_rule, fusion="opaque", reference=ref.max_pool2d, lowering=rb.max_pool2d),
    OpRow(
        "avg_pool2d",
        XF,
        OUT,
        (*POOL_ATTRS, Attr("count_include_pad", "bool", default=False)),
        traits=PURE,
        infer=rules.pool2d_rule,
        fusion="opaque",
        reference=ref.avg_pool2d,
        lowering=rb.avg_pool2d,
    ),
    OpRow(
        "global_avg_pool2d",
        XF,
        OUT,
        traits=PURE,
        infer=rules.global_pool_rule,
        fusion="reduction",
        reference=lambda x: np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype),
        lowering=rb.global_avg_pool2d,
    ),
    OpRow(
        "global_max_pool2d",
        XF,
        OUT,
        traits=PURE,
        infer=rules.global_pool_rule,
        fusion="reduction",
        reference=lambda x: np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True),
        lowering=rb.global_max_pool2d,
    ),
    # ---- normalization
    OpRow(
        "batch_norm",
        (
            Operand("x", dtypes="float"),
            Operand("scale", dtypes="same"),
            Operand("bias", dtypes="same"),
            Operand("mean", dtypes="same"),
            Operand("var", dtypes="same"),
        ),
        OUT,
        (Attr("epsilon", "float", default=1e-5),),
        traits=PURE,
        infer=rules.batch_norm_rule,
        fusion="broadcast",
        reference=ref.batch_norm,
        compute="out[b, c, ...] = (x[b, c, ...] - mean[c]) * (scale[c] / sqrt(var[c] + epsilon)) + bias[c]",
        summary="inference batch normalization over axis 1",
    ),
    OpRow(
        "layer_norm",
        (Operand("x", dtypes="float"), Operand("params", dtypes="same", variadic=True)),
        OUT,
        (Attr("axis", "int", default=-1), Attr("epsilon", "float", default=1e-5)),
        traits=PURE,
        infer=rules.layer_norm_rule,
        fusion="reduction",
        reference=ref.layer_norm,
        lowering=rb.layer_norm,
        summary="normalize over axes [axis, rank); optional scale then bias operands",
    ),
    OpRow(
        "softmax",
        XF,
        OUT,
        (Attr("axis", "int", default=-1),),
        traits=PURE,
        infer=rules.axis_same_shape,
        fusion="reduction",
        reference=ref.softmax,
        lowering=rb.softmax,
    ),
    OpRow(
        "log_softmax",
        XF,
        OUT,
        (Attr("axis", "int", default=-1),),
        traits=PURE,
        infer=rules.axis_same_shape,
        fusion="reduction",
        reference=ref.log_softmax,
        lowering=rb.log_softmax,
    ),
    # ---- reductions
    reduction("reduce_sum", np.sum, lowering=rb.reduction("+=")),
    reduction("reduce_mean", np.mean, "float", lowering=rb.reduction("+=", mean=True)),
    reduction("reduce_max", np.max, lowering=rb.reduction("max=")),
    reduction("reduce_min", np.min, lowering=rb.reduction("min=")),
    reduction("reduce_prod", np.prod, lowering=rb.reduction("*=")),
    OpRow(
        "argmax",
        (Operand("x", dtypes="numeric"),),
        OUT,
        (Attr("axis", "int", default=0), Attr("keepdims", "bool", default=True), Attr("select_last_index", "bool", default=False)),
        traits=PURE,
        infer=rules.arg_reduce_rule,
        fusion="reduction",
        reference=ref.arg_reduce(np.argmax),
        lowering=rb.arg_reduction("max="),
    ),
    OpRow(
        "argmin",
        (Operand("x", dtypes="numeric"),),
        OUT,
        (Attr("axis", "int", default=0), Attr("keepdims", "bool", default=True), Attr("select_last_index", "bool", default=False)),
        traits=PURE,
        infer=rules.arg_reduce_rule,
        fusion="reduction",
        reference=ref.arg_reduce(np.argmin),
        lowering=rb.arg_reduction("min="),
    ),
    OpRow(
        "cumsum",
        (Operand("x", dtypes="numeric"),),
        OUT,
        (Attr("axis", "int", default=0), Attr("exclusive", "bool", default=False), Attr("reverse", "bool", default=False)),
        traits=PURE,
        infer=rules.axis_same_shape,
        fusion="opaque",
        reference=ref.cumsum,
        lowering=rb.cumsum,
        summary="running sum along an axis (exclusive: without the element itself; reverse: from the end)",
    ),
    OpRow(
        "top_k",
        (Operand("x", dtypes="numeric"),),
        (Result("values"), Result("indices")),
        (Attr("axis", "int", default=-1), Attr("k", "int"), Attr("largest", "bool", default=True)),
        traits=PURE,
        infer=rules.top_k_rule,
        fusion="opaque",
        reference=ref.top_k,
        lowering=rb.top_k,
        summary="the k largest (smallest) elements along an axis, sorted, lower index first among equals",
    ),
    # ---- data movement
    OpRow(
        "reshape",
        X,
        OUT,
        (Attr("shape", "dims", doc="target shape; one -1 is inferred"),),
        traits=PURE,
        infer=rules.reshape_rule,
        fusion="injective",
        reference=ref.reshape,
        lowering=rb.reshape,
    ),
    OpRow("flatten", X, OUT, (Attr("axis", "int", default=1),), traits=PURE, infer=rules.flatten_rule, fusion="injective", reference=ref.flatten, lowering=rb.flatten),
    OpRow(
        "transpose",
        X,
        OUT,
        (Attr("perm", "ints", default=None, doc="reversed axes when absent"),),
        traits=PURE,
        infer=rules.transpose_rule,
        fusion="injective",
        reference=ref.transpose,
        lowering=rb.transpose,
    ),
    OpRow(
        "broadcast_to",
        X,
        OUT,
        (Attr("shape", "dims"),),
        traits=PURE,
        infer=rules.broadcast_to_rule,
        fusion="broadcast",
        reference=lambda x, *, shape: np.broadcast_to(x, tuple(shape)).copy(),
        compute="out[...] = x[...]",
    ),
    OpRow(
        "concat",
        (Operand("inputs", variadic=True),),
        OUT,
        (Attr("axis", "int"),),
        traits=PURE,
        infer=rules.concat_rule,
        fusion="injective",
        reference=lambda *xs, axis: np.concatenate(xs, axis=axis),
        lowering=rb.concat,
    ),
    OpRow(
        "split",
        X,
        (Result("outs", variadic=True),),
        (Attr("axis", "int", default=0), Attr("sizes", "ints")),
        traits=PURE,
        infer=rules.split_rule,
        fusion="injective",
        reference=ref.split,
        lowering=rb.split,
    ),
    OpRow(
        "slice",
        X,
        OUT,
        (
            Attr("starts", "ints"),
            Attr("ends", "ints", doc="exclusive; clamped like Python slices"),
            Attr("axes", "ints", default=None),
            Attr("steps", "ints", default=None),
        ),
        traits=PURE,
        infer=rules.slice_rule,
        fusion="injective",
        reference=ref.slice_,
        lowering=rb.slice_,
    ),
    OpRow(
        "pad",
        X,
        OUT,
        (
            Attr("pads", "ints", doc="begin of every axis, then end of every axis; negative crops"),
            Attr("mode", "str", default="constant", choices=("constant", "reflect", "edge")),
            Attr("value", "float", default=0.0),
        ),
        traits=PURE,
        infer=rules.pad_rule,
        fusion="injective",
        reference=ref.pad,
        lowering=rb.pad,
    ),
    OpRow(
        "gather",
        (Operand("x"), Operand("indices", dtypes="int")),
        OUT,
        (Attr("axis", "int", default=0),),
        traits=PURE,
        infer=rules.gather_rule,
        fusion="injective",
        reference=ref.gather,
        lowering=rb.gather,
        summary="take along an axis; negative indices count from the end",
    ),
    OpRow(
        "gather_elements",
        (Operand("x"), Operand("indices", dtypes="int")),
        OUT,
        (Attr("axis", "int", default=0),),
        traits=PURE,
        infer=rules.gather_elements_rule,
        fusion="injective",
        reference=ref.gather_elements,
        lowering=rb.gather_elements,
        summary="take along an axis at an index per output element (indices shape the result)",
    ),
    OpRow(
        "scatter_nd",
        (Operand("data"), Operand("indices", dtypes="int"), Operand("updates", dtypes="same")),
        OUT,
        (Attr("reduction", "str", default="none", choices=("none", "add", "mul", "max", "min")),),
        traits=PURE,
        infer=rules.scatter_nd_rule,
        fusion="opaque",
        reference=ref.scatter_nd,
        lowering=rb.scatter_nd,
        summary="data with slices at indices[..., :] replaced by (or combined with) updates, in order",
    ),
    OpRow(
        "squeeze",
        X,
        OUT,
        (Attr("axes", "ints", default=None, doc="all size-1 axes when absent"),),
        traits=PURE,
        infer=rules.squeeze_rule,
        fusion="injective",
        reference=ref.squeeze,
        lowering=rb.squeeze,
    ),
    OpRow("unsqueeze", X, OUT, (Attr("axes", "ints"),), traits=PURE, infer=rules.unsqueeze_rule, fusion="injective", reference=ref.unsqueeze, lowering=rb.unsqueeze),
]

Graph = build_dialect("graph", TABLE, [DenseElementsAttr])
