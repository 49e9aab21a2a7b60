"""The loop dialect (TensorIR's level): buffers, loop nests and named blocks, one row each.

Functions over buffers are xDSL's `func.func` with memref arguments in destination-passing
style: the inputs come first, then one argument per output, and the function returns nothing;
its `lamina.outputs` attribute says how many trailing arguments are outputs. Reusing func.func
keeps symbol tables, calls and the text form that every other level already has.

Structure (what schedule primitives rewrite):
- `loop.for` iterates an index from `lower` to `upper` (SSA index values, so split/fuse can
  compute new bounds) by a constant `step`; its `kind` says whether iterations are independent
  (`parallel`), carry a reduction (`reduction`) or must run in order (`serial`); annotations
  (`unroll`, `vectorize`, `thread`) ask later stages for a code shape without changing meaning.
- `loop.block` is one computation instance named by its `label`: its iterator values are bound from loop
  variables (`bindings`), `iter_kinds` marks each iterator spatial (S) or reduce (R), `domain`
  records each iterator's extent, the `init` region runs when every reduce iterator is 0, then
  the `body` runs. Both regions take the iterator values as block arguments.
- `loop.load` / `loop.store` index buffers with index values computed by arith ops on index
  (affine unless a data-dependent load feeds them, e.g. gather).
- `loop.prefetch` asks for the cache line holding an element (by row-major offset) ahead of
  its loads; it has no effect on values, so it may point anywhere inside the buffer.
Scalar math inside bodies is xDSL's arith and math.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IndexType
from xdsl.traits import IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

from lamina.ir.dims import DimError, parse_dim
from lamina.ir.optable import Attr, Operand, OpRow, OpView, Region, Result, ShapeError, build_dialect
from lamina.ir.types import BufferType, element_type_of_numpy, is_bool

# On a loop function: how many of its trailing arguments are outputs.
OUTPUTS_ATTR = "lamina.outputs"
LOOP_KINDS = ("serial", "parallel", "reduction")
THREAD_AXES = ("blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y", "threadIdx.z")
BUFFER_SCOPES = ("global", "local")
SPATIAL, REDUCE = "S", "R"


def _buffer(view: OpView, i: int) -> BufferType:
    t = view.operand_types[i]
    if not isinstance(t, BufferType):
        raise ShapeError(f"operand #{i} must be a memref, got {t}")
    return t


def _indices_ok(view: OpView, buffer_at: int) -> None:
    buf = _buffer(view, buffer_at)
    indices = view.operand_types[buffer_at + 1 :]
    if len(indices) != buf.rank:
        raise ShapeError(f"{buf} needs {buf.rank} indices, got {len(indices)}")
    for k, t in enumerate(indices):
        if not isinstance(t, IndexType):
            raise ShapeError(f"index #{k} must be of type index, got {t}")


def const_rule(view: OpView):
    value = view.attrs["value"]
    try:
        elem = element_type_of_numpy(value.dtype)
    except ValueError as e:
        raise ShapeError(str(e)) from None
    return [BufferType.of(list(value.shape), elem)]


def alloc_check(view: OpView) -> None:
    (t,) = view.result_types
    if not isinstance(t, BufferType):
        raise ShapeError(f"the result must be a memref, got {t}")
    symbolic = sum(1 for d in t.shape if not isinstance(d, int))
    if len(view.operand_types) != symbolic:
        raise ShapeError(f"{t} has {symbolic} symbolic sizes but {len(view.operand_types)} size operands were given")


def size_rule(view: OpView):
    try:
        parse_dim(view.attrs["value"])
    except DimError as e:
        raise ShapeError(str(e)) from None
    return [IndexType()]


def load_rule(view: OpView):
    _indices_ok(view, 0)
    return [_buffer(view, 0).element_type]


def store_check(view: OpView) -> None:
    _indices_ok(view, 1)
    buf = _buffer(view, 1)
    if view.operand_types[0] != buf.element_type:
        raise ShapeError(f"stored value of type {view.operand_types[0]} does not match {buf}")


def for_check(view: OpView) -> None:
    if view.attrs["step"] < 1:
        raise ShapeError(f"step must be positive, got {view.attrs['step']}")
    for k, t in enumerate(view.operand_types):
        if not isinstance(t, IndexType):
            raise ShapeError(f"bound #{k} must be of type index, got {t}")


def block_check(view: OpView) -> None:
    kinds, domain = view.attrs["iter_kinds"], view.attrs["domain"]
    if set(kinds) - {SPATIAL, REDUCE}:
        raise ShapeError(f"iter_kinds holds one S (spatial) or R (reduce) per iterator, got '{kinds}'")
    if not len(kinds) == len(domain) == len(view.operand_types):
        raise ShapeError(
            f"{len(view.operand_types)} bindings, {len(kinds)} iter_kinds and {len(domain)} domain extents must agree"
        )


def if_check(view: OpView) -> None:
    if not is_bool(view.operand_types[0]):
        raise ShapeError(f"condition must be i1, got {view.operand_types[0]}")


TABLE = [
    OpRow(
        "const",
        (),
        (Result("out", "buffer"),),
        (Attr("value", "dense", positional=True),),
        traits=(Pure,),
        infer=const_rule,
        summary="a read-only global buffer holding a numpy-backed constant",
    ),
    OpRow(
        "alloc",
        (Operand("sizes", "index", variadic=True),),
        (Result("out", "buffer"),),
        (Attr("scope", "str", default="global", choices=BUFFER_SCOPES),),
        check=alloc_check,
        summary="a new buffer; one size operand per symbolic dimension of its type, in order",
    ),
    OpRow(
        "size",
        (),
        (Result("out", "index"),),
        (Attr("value", "str", positional=True, doc="a dimension expression over the function's size symbols"),),
        traits=(Pure,),
        infer=size_rule,
        summary="the value of a symbolic size such as `n` or `4*n`, bound by the function's argument shapes",
    ),
    OpRow(
        "for",
        (Operand("lower", "index"), Operand("upper", "index")),
        (),
        (
            Attr("step", "int", default=1),
            Attr("kind", "str", default="serial", choices=LOOP_KINDS),
            Attr("label", "str", default="", doc="the loop's handle for schedules"),
            Attr("unroll", "int", default=None, doc="unroll factor requested of code generation"),
            Attr("vectorize", "bool", default=False),
            Attr("lanes", "int", default=None, doc="vector lanes when vectorized; none: the target's widest"),
            Attr("thread", "str", default=None, choices=THREAD_AXES, doc="GPU thread axis bound to this loop"),
        ),
        regions=(Region("body", "one index argument: the loop variable"),),
        check=for_check,
        summary="a loop from lower (inclusive) to upper (exclusive)",
    ),
    OpRow(
        "block",
        (Operand("bindings", "index", variadic=True),),
        (),
        (
            Attr("label", "str", doc="the block's handle for schedules"),
            Attr("iter_kinds", "str", doc="S (spatial) or R (reduce) per iterator"),
            Attr("domain", "dims", doc="extent of each iterator"),
        ),
        regions=(Region("init", "runs when every reduce iterator is 0"), Region("body")),
        check=block_check,
        summary="a named computation instance whose iterators are bound from loop variables",
    ),
    OpRow(
        "load",
        (Operand("buffer", "buffer"), Operand("indices", "index", variadic=True)),
        (Result("out", "scalar"),),
        traits=(),
        infer=load_rule,
        summary="read one element",
    ),
    OpRow(
        "store",
        (Operand("value", "scalar"), Operand("buffer", "buffer"), Operand("indices", "index", variadic=True)),
        (),
        check=store_check,
        summary="write one element",
    ),
    OpRow(
        "prefetch",
        (Operand("buffer", "buffer"), Operand("offset", "index")),
        (),
        summary="a hint: fetch into the caches the line holding the element at this row-major offset",
    ),
    OpRow(
        "if",
        (Operand("cond", "scalar"),),
        (),
        regions=(Region("then"),),
        check=if_check,
        summary="run the region only when the condition holds (guards of non-dividing splits)",
    ),
    OpRow("yield", (), (), traits=(IsTerminator,), summary="ends a loop, block or if region"),
]

# BufferType and DenseElementsAttr are registered by the graph dialect already.
Loop = build_dialect("loop", TABLE)
DIALECT = Loop


# ---------------------------------------------------------------- region signatures
# A row's check sees operand types and attributes only; what the regions take is checked here,
# on top of the verifier generated from the row, so rewrites that rebuild loops get caught.


def _region_args(op, region, count: int, what: str) -> None:
    args = region.block.args
    if len(args) != count or any(not isinstance(a.type, IndexType) for a in args):
        got = ", ".join(str(a.type) for a in args) or "none"
        raise VerifyException(f"'{op.name}': the {what} region must take {count} index argument(s), got ({got})")


def _for_regions(op) -> None:
    _region_args(op, op.body, 1, "body")


def _block_regions(op) -> None:
    _region_args(op, op.init, len(op.operands), "init")
    _region_args(op, op.body, len(op.operands), "body")


def _if_regions(op) -> None:
    _region_args(op, op.then, 0, "then")


def _with_region_check(cls, check) -> None:
    table_verify = cls.verify_

    def verify_(self) -> None:
        table_verify(self)
        check(self)

    cls.verify_ = verify_


_with_region_check(Loop["for"], _for_regions)
_with_region_check(Loop["block"], _block_regions)
_with_region_check(Loop["if"], _if_regions)
