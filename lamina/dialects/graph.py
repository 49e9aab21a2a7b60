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
from lamina.ir.dense import DenseElementsAttr
from lamina.ir.optable import Attr, Operand, OpRow, Result, build_dialect
from lamina.ir.types import numpy_dtype

X = (Operand("x"),)
XF = (Operand("x", dtypes="float"),)
LR = (Operand("lhs"), Operand("rhs", dtypes="same"))
LRN = (Operand("lhs", dtypes="numeric"), Operand("rhs", dtypes="same"))
OUT = (Result("out"),)
PURE = (Pure,)
INT64_MAX = 2**63 - 1


def unary(name, fn, dtypes="numeric", attrs=(), summary=""):
    return OpRow(
        name,
        (Operand("x", dtypes=dtypes),),
        OUT,
        attrs,
        traits=PURE,
        infer=rules.same_as_operand,
        fusion="elementwise",
        reference=fn,
        summary=summary or f"elementwise {name}",
    )


def binary(name, fn, operands=LRN, summary=""):
    return OpRow(
        name,
        operands,
        OUT,
        traits=PURE,
        infer=rules.broadcast_same_dtype,
        fusion="broadcast",
        reference=fn,
        summary=summary or f"elementwise {name} with numpy broadcasting",
    )


def compare(name, fn):
    return OpRow(
        name,
        LR,
        OUT,
        traits=PURE,
        infer=rules.broadcast_to_bool,
        fusion="broadcast",
        reference=fn,
        summary=f"elementwise {name}, broadcasting, giving i1",
    )


def reduction(name, fn, dtypes="numeric"):
    return OpRow(
        name,
        (Operand("x", dtypes=dtypes),),
        OUT,
        (Attr("axes", "ints", default=None, doc="reduced axes; all when absent"), Attr("keepdims", "bool", default=True)),
        traits=PURE,
        infer=rules.reduce_rule,
        fusion="reduction",
        reference=ref.reduce(fn),
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
    binary("add", np.add),
    binary("sub", np.subtract),
    binary("mul", np.multiply),
    binary("div", ref.div),
    binary("pow", ref.power),
    binary("maximum", np.maximum),
    binary("minimum", np.minimum),
    binary("mod", np.fmod, summary="remainder with the sign of the dividend (C fmod)"),
    unary("neg", np.negative),
    unary("abs", np.abs),
    unary("exp", np.exp, "float"),
    unary("log", np.log, "float"),
    unary("sqrt", np.sqrt, "float"),
    unary("rsqrt", lambda x: (1 / np.sqrt(x)).astype(x.dtype), "float"),
    unary("tanh", np.tanh, "float"),
    unary("sigmoid", ref.sigmoid, "float"),
    unary("erf", ref.erf, "float"),
    unary("sin", np.sin, "float"),
    unary("cos", np.cos, "float"),
    unary("floor", np.floor, "float"),
    unary("ceil", np.ceil, "float"),
    unary("round", np.round, "float", summary="round half to even"),
    unary("sign", np.sign),
    unary("reciprocal", lambda x: (1 / x).astype(x.dtype), "float"),
    unary("relu", lambda x: np.maximum(x, np.zeros((), x.dtype))),
    unary(
        "leaky_relu",
        lambda x, *, alpha: np.where(x >= 0, x, x * np.asarray(alpha, x.dtype)).astype(x.dtype),
        "float",
        (Attr("alpha", "float", default=0.01),),
    ),
    unary("gelu", ref.gelu, "float", (Attr("approximate", "str", default="none", choices=("none", "tanh")),)),
    unary("clip", ref.clip, "numeric", (Attr("min", "float", default=None), Attr("max", "float", default=None))),
    unary("not", np.logical_not, "bool"),
    OpRow(
        "cast",
        X,
        OUT,
        (Attr("to", "type"),),
        traits=PURE,
        infer=rules.cast_rule,
        fusion="elementwise",
        reference=lambda x, *, to: x.astype(numpy_dtype(to)),
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
        summary="select lhs where cond holds, else rhs (broadcasting)",
    ),
    compare("equal", np.equal),
    compare("less", np.less),
    compare("less_equal", np.less_equal),
    compare("greater", np.greater),
    compare("greater_equal", np.greater_equal),
    binary("and", np.logical_and, (Operand("lhs", dtypes="bool"), Operand("rhs", dtypes="bool"))),
    binary("or", np.logical_or, (Operand("lhs", dtypes="bool"), Operand("rhs", dtypes="bool"))),
    binary("xor", np.logical_xor, (Operand("lhs", dtypes="bool"), Operand("rhs", dtypes="bool"))),
    # ---- contractions and windows
    OpRow(
        "matmul",
        (Operand("lhs", dtypes="numeric"), Operand("rhs", dtypes="same")),
        OUT,
        traits=PURE,
        infer=rules.matmul_rule,
        fusion="out-fusable",
        reference=ref.matmul,
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
        summary="2-D convolution, NCHW input, OIHW weight",
    ),
    OpRow("max_pool2d", XF, OUT, POOL_ATTRS, traits=PURE, infer=rules.pool2d_rule, fusion="opaque", reference=ref.max_pool2d),
    OpRow(
        "avg_pool2d",
        XF,
        OUT,
        (*POOL_ATTRS, Attr("count_include_pad", "bool", default=False)),
        traits=PURE,
        infer=rules.pool2d_rule,
        fusion="opaque",
        reference=ref.avg_pool2d,
    ),
    OpRow(
        "global_avg_pool2d",
        XF,
        OUT,
        traits=PURE,
        infer=rules.global_pool_rule,
        fusion="reduction",
        reference=lambda x: np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype),
    ),
    OpRow(
        "global_max_pool2d",
        XF,
        OUT,
        traits=PURE,
        infer=rules.global_pool_rule,
        fusion="reduction",
        reference=lambda x: np.max(x, axis=tuple(range(2, x.ndim)), keepdims=True),
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
    ),
    # ---- reductions
    reduction("reduce_sum", np.sum),
    reduction("reduce_mean", np.mean, "float"),
    reduction("reduce_max", np.max),
    reduction("reduce_min", np.min),
    reduction("reduce_prod", np.prod),
    OpRow(
        "argmax",
        (Operand("x", dtypes="numeric"),),
        OUT,
        (Attr("axis", "int", default=0), Attr("keepdims", "bool", default=True), Attr("select_last_index", "bool", default=False)),
        traits=PURE,
        infer=rules.arg_reduce_rule,
        fusion="reduction",
        reference=ref.arg_reduce(np.argmax),
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
    ),
    OpRow("flatten", X, OUT, (Attr("axis", "int", default=1),), traits=PURE, infer=rules.flatten_rule, fusion="injective", reference=ref.flatten),
    OpRow(
        "transpose",
        X,
        OUT,
        (Attr("perm", "ints", default=None, doc="reversed axes when absent"),),
        traits=PURE,
        infer=rules.transpose_rule,
        fusion="injective",
        reference=ref.transpose,
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
        summary="take along an axis; negative indices count from the end",
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
    ),
    OpRow("unsqueeze", X, OUT, (Attr("axes", "ints"),), traits=PURE, infer=rules.unsqueeze_rule, fusion="injective", reference=ref.unsqueeze),
]

Graph = build_dialect("graph", TABLE, [DenseElementsAttr])
