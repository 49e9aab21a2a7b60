"""The device dialect (the target's level): what the llvm, c and cuda emitters translate one op
at a time.

Kernels and the entry point are `func.func`s over buffers (`memref<...>`, dense row-major) and
scalars, with a C ABI. Bodies hold serial and thread-parallel loops, scalar and vector loads and
stores, vector broadcast/FMA/reductions, stack buffers, views into the planned workspace, calls,
and GPU thread ids and barriers. Scalar and lane-wise vector math is xDSL's arith/math. Symbolic
dims (`memref<n x 4 x f32>`) are runtime values: `device.symbol "n"` reads one, and the emitters
compute strides from them.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IndexType, VectorType
from xdsl.ir import Attribute
from xdsl.traits import NoTerminator

from lamina.ir.optable import Attr, Operand, OpRow, OpView, Region, Result, ShapeError, build_dialect
from lamina.ir.types import BufferType, index

NO_TERMINATOR = (NoTerminator,)
BUF = Operand("buffer", kind="buffer")
IDX = Operand("indices", kind="index", variadic=True)


def _buffer(view: OpView, i: int) -> BufferType:
    t = view.operand_types[i]
    if not isinstance(t, BufferType):
        raise ShapeError(f"operand #{i} must be a buffer, got {t}")
    return t


def _check_index_count(view: OpView, buffer_at: int, first_index: int) -> None:
    buf = _buffer(view, buffer_at)
    got = len(view.operand_types) - first_index
    if got != buf.rank:
        raise ShapeError(f"a rank-{buf.rank} buffer takes {buf.rank} indices, got {got}")


def _lanes(view: OpView) -> int:
    lanes = view.attrs["lanes"]
    if lanes < 2:
        raise ShapeError(f"a vector needs at least 2 lanes, got {lanes}")
    return lanes


def load_rule(view: OpView) -> list[Attribute]:
    _check_index_count(view, 0, 1)
    return [_buffer(view, 0).element_type]


def vload_rule(view: OpView) -> list[Attribute]:
    _check_index_count(view, 0, 1)
    return [VectorType(_buffer(view, 0).element_type, [_lanes(view)])]


def store_check(view: OpView) -> None:
    _check_index_count(view, 1, 2)
    value, buf = view.operand_types[0], _buffer(view, 1)
    elem = value.element_type if isinstance(value, VectorType) else value
    if elem != buf.element_type:
        raise ShapeError(f"storing {value} into a buffer of {buf.element_type}")


def broadcast_rule(view: OpView) -> list[Attribute]:
    return [VectorType(view.operand_types[0], [_lanes(view)])]


def vreduce_rule(view: OpView) -> list[Attribute]:
    v = view.operand_types[0]
    if not isinstance(v, VectorType):
        raise ShapeError(f"vreduce takes a vector, got {v}")
    return [v.element_type]


def fma_rule(view: OpView) -> list[Attribute]:
    a, b, c = view.operand_types
    if not (a == b == c):
        raise ShapeError(f"fma operands differ: {a}, {b}, {c}")
    return [a]


def alloca_rule(view: OpView) -> list[Attribute]:
    shape = view.attrs["shape"]
    if any(not isinstance(d, int) for d in shape):
        raise ShapeError("stack buffers need static sizes")
    return [BufferType.of(shape, view.attrs["element"])]


def typed_result(view: OpView) -> list[Attribute]:
    t = view.attrs["type"]
    if not isinstance(t, BufferType):
        raise ShapeError(f"a view must be a buffer type, got {t}")
    return [t]


def const_rule(view: OpView) -> list[Attribute]:
    from lamina.ir.types import element_type_of_numpy

    value = view.attrs["value"]
    return [BufferType.of(list(value.shape), element_type_of_numpy(value.dtype))]


def index_result(view: OpView) -> list[Attribute]:
    return [index]


def no_results(view: OpView) -> list[Attribute]:
    return []


def loop_check(view: OpView) -> None:
    if view.attrs["step"] < 1:
        raise ShapeError(f"loop step must be positive, got {view.attrs['step']}")


AXES = ("x", "y", "z")
REDUCTIONS = ("add", "mul", "max", "min")

TABLE = (
    # ---- control
    OpRow(
        "for",
        (Operand("lower", kind="index"), Operand("upper", kind="index")),
        (),
        (Attr("step", "int", default=1),),
        regions=(Region("body", "one block with the induction variable (index) as its argument"),),
        traits=NO_TERMINATOR,
        infer=no_results,
        check=loop_check,
        summary="serial loop lower..upper by step",
    ),
    OpRow(
        "parallel_for",
        (Operand("lower", kind="index"), Operand("upper", kind="index")),
        (),
        (Attr("step", "int", default=1),),
        regions=(Region("body"),),
        traits=NO_TERMINATOR,
        infer=no_results,
        check=loop_check,
        summary="iterations split in static chunks over the threads of the runtime (OpenMP)",
    ),
    OpRow(
        "if",
        (Operand("condition", kind="scalar"),),
        (),
        regions=(Region("then"),),
        traits=NO_TERMINATOR,
        infer=no_results,
        summary="run the region when the i1 condition holds (guards of non-dividing splits, padding)",
    ),
    OpRow("call", (Operand("args", kind="any", variadic=True),), (), (Attr("callee", "symbol"),), infer=no_results, summary="call a kernel of this module"),
    # ---- memory
    OpRow("load", (BUF, IDX), (Result("value", kind="scalar"),), infer=load_rule, summary="scalar load at row-major indices"),
    OpRow("store", (Operand("value", kind="scalar"), BUF, IDX), (), infer=no_results, check=store_check, summary="scalar store"),
    OpRow("prefetch", (BUF, Operand("offset", kind="index")), (), infer=no_results, summary="fetch the line holding the element at a row-major offset into L2 (a hint)"),
    OpRow(
        "vload",
        (BUF, IDX),
        (Result("value", kind="any"),),
        (Attr("lanes", "int"), Attr("stride", "int", default=1, doc="elements between lanes (llvm target: 1 or 2)")),
        infer=vload_rule,
        summary="load `lanes` elements along the last axis, `stride` apart",
    ),
    OpRow("vstore", (Operand("value", kind="any"), BUF, IDX), (), infer=no_results, check=store_check, summary="store a vector along the last axis"),
    OpRow(
        "alloca",
        (),
        (Result("buffer", kind="buffer"),),
        (Attr("shape", "dims"), Attr("element", "type")),
        infer=alloca_rule,
        summary="a local (stack) buffer, 64-byte aligned",
    ),
    OpRow(
        "workspace_view",
        (Operand("workspace", kind="buffer"), Operand("offset", kind="index")),
        (Result("buffer", kind="buffer"),),
        (Attr("type", "type"),),
        infer=typed_result,
        summary="a buffer at a byte offset of the planned workspace",
    ),
    OpRow(
        "const_buffer",
        (),
        (Result("buffer", kind="buffer"),),
        (Attr("value", "dense", positional=True),),
        infer=const_rule,
        summary="read-only data baked into the module",
    ),
    OpRow("symbol", (), (Result("value", kind="index"),), (Attr("symbol", "str", positional=True),), infer=index_result, summary="the runtime value of a symbolic dim"),
    # ---- vectors
    OpRow("broadcast", (Operand("value", kind="scalar"),), (Result("vector", kind="any"),), (Attr("lanes", "int"),), infer=broadcast_rule),
    OpRow("fma", (Operand("a", kind="any"), Operand("b", kind="any"), Operand("c", kind="any")), (Result("out", kind="any"),), infer=fma_rule, summary="a*b+c, fused"),
    OpRow(
        "vreduce",
        (Operand("vector", kind="any"),),
        (Result("value", kind="scalar"),),
        (Attr("kind", "str", choices=REDUCTIONS),),
        infer=vreduce_rule,
        summary="horizontal reduction of a vector",
    ),
    # ---- GPU
    OpRow("thread_id", (), (Result("value", kind="index"),), (Attr("dim", "str", choices=AXES, positional=True),), infer=index_result),
    OpRow("block_id", (), (Result("value", kind="index"),), (Attr("dim", "str", choices=AXES, positional=True),), infer=index_result),
    OpRow("block_dim", (), (Result("value", kind="index"),), (Attr("dim", "str", choices=AXES, positional=True),), infer=index_result),
    OpRow("barrier", infer=no_results, summary="__syncthreads()"),
    OpRow(
        "launch",
        (Operand("args", kind="any", variadic=True),),
        (),
        (Attr("callee", "symbol"), Attr("grid", "ints"), Attr("block", "ints")),
        infer=no_results,
        summary="launch a GPU kernel over grid x block threads",
    ),
)

DIALECT = Device = build_dialect("device", TABLE)

__all__ = ["DIALECT", "Device", "IndexType"]
