"""The schedule dialect: a schedule written as IR, next to the loop function it transforms
(MLIR's transform dialect, TVM's schedule trace).

    schedule.sequence @matmul () {
      %b = schedule.get_block "matmul" : index
      %i, %j, %k = schedule.get_loops %b : index, index, index
      %io, %ii = schedule.split %i {factors = [-1, 8]} : index, index
      schedule.parallel %io
    }

Handles are SSA values. The text format's type grammar has element and shaped types only, so a
handle is typed `index`; what it denotes (a block, a loop, a sampled integer) is fixed by the op
that defines it and checked when the sequence is applied. `apply-schedule`
(lamina.passes.schedule.apply_schedule) runs every sequence on its function, in order, and
removes the sequences. Sampling ops carry their `decision`, so replaying a trace is
deterministic.
"""

from __future__ import annotations

from xdsl.dialects.builtin import IndexType
from xdsl.traits import NoTerminator

from lamina.dialects.loop import BUFFER_SCOPES, THREAD_AXES
from lamina.ir.optable import Attr, Operand, OpRow, OpView, Region, Result, ShapeError, build_dialect

HANDLE = IndexType()


def one_handle(view: OpView):
    return [HANDLE]


def split_rule(view: OpView):
    factors = view.attrs["factors"]
    dynamic = len(view.operand_types) - 1
    if factors is None and dynamic < 2:
        raise ShapeError("give 'factors' (two or more, -1 for the one to infer) or two or more sampled factor handles")
    if factors is not None and dynamic:
        raise ShapeError("give either the 'factors' attribute or factor handles, not both")
    count = len(factors) if factors is not None else dynamic
    if count < 2:
        raise ShapeError(f"a split needs at least two factors, got {count}")
    if factors is not None:
        if sum(1 for f in factors if f == -1) > 1:
            raise ShapeError("at most one factor may be -1 (inferred)")
        if any(f < 1 and f != -1 for f in factors):
            raise ShapeError(f"factors must be positive or -1, got {list(factors)}")
    return [HANDLE] * count


def tile_rule(view: OpView):
    sizes = view.attrs["sizes"]
    if len(sizes) != len(view.operand_types):
        raise ShapeError(f"{len(view.operand_types)} loops but {len(sizes)} tile sizes")
    if any(s < 1 for s in sizes):
        raise ShapeError(f"tile sizes must be positive, got {list(sizes)}")
    return [HANDLE] * (2 * len(sizes))


def perfect_tile_rule(view: OpView):
    n = view.attrs["n"]
    if n < 2:
        raise ShapeError(f"n must be at least 2, got {n}")
    decision = view.attrs["decision"]
    if decision is not None and len(decision) != n:
        raise ShapeError(f"the decision has {len(decision)} factors but n = {n}")
    return [HANDLE] * n


def categorical_rule(view: OpView):
    candidates, probs = view.attrs["candidates"], view.attrs["probs"]
    if not candidates:
        raise ShapeError("at least one candidate is needed")
    if probs is not None and len(probs) != len(candidates):
        raise ShapeError(f"{len(candidates)} candidates but {len(probs)} probabilities")
    decision = view.attrs["decision"]
    if decision is not None and not 0 <= decision < len(candidates):
        raise ShapeError(f"decision {decision} is not an index into the {len(candidates)} candidates")
    return [HANDLE]


def loops_check(view: OpView) -> None:
    if not view.operand_types:
        raise ShapeError("at least one loop handle is needed")


def unroll_check(view: OpView) -> None:
    factor = view.attrs["factor"]
    if factor is not None and factor < 1:
        raise ShapeError(f"the unroll factor must be positive, got {factor}")
    if factor is not None and len(view.operand_types) > 1:
        raise ShapeError("give either the 'factor' attribute or a sampled factor handle, not both")


def _loop(name="loop"):
    return Operand(name, "index")


def _block(name="block"):
    return Operand(name, "index")


TABLE = [
    OpRow(
        "sequence",
        (),
        (),
        (Attr("target", "symbol", positional=True, doc="the loop function the schedule transforms"),),
        regions=(Region("body", "the primitives, in order"),),
        traits=(NoTerminator,),
        summary="a schedule: primitives applied in order to the target function by apply-schedule",
    ),
    OpRow(
        "get_block",
        (),
        (Result("block", "index"),),
        (Attr("label", "str", positional=True, doc="the loop.block label"),),
        infer=one_handle,
        summary="the handle of the block labelled `label`",
    ),
    OpRow(
        "get_loops",
        (_block(),),
        (Result("loops", "index", variadic=True),),
        summary="the loops around a block, outermost first",
    ),
    OpRow(
        "split",
        (_loop(), Operand("dynamic_factors", "index", variadic=True)),
        (Result("loops", "index", variadic=True),),
        (Attr("factors", "ints", default=None, doc="extents of the new loops, outermost first; -1 is inferred"),),
        infer=split_rule,
        summary="split a loop into a nest; a non-dividing split guards its body with loop.if",
    ),
    OpRow(
        "fuse",
        (Operand("loops", "index", variadic=True),),
        (Result("fused", "index"),),
        infer=one_handle,
        check=loops_check,
        summary="fuse a perfect chain of loops into one loop",
    ),
    OpRow(
        "reorder",
        (Operand("loops", "index", variadic=True),),
        (),
        check=loops_check,
        summary="permute loops of one perfect nest into the given order",
    ),
    OpRow(
        "tile",
        (Operand("loops", "index", variadic=True),),
        (Result("tiled", "index", variadic=True),),
        (Attr("sizes", "ints"),),
        infer=tile_rule,
        summary="split each loop of a perfect chain by its size and move the inner loops inside: outer loops, then inner",
    ),
    OpRow("parallel", (_loop(),), (), summary="run a loop's iterations across threads (checked independent)"),
    OpRow(
        "vectorize",
        (_loop(),),
        (),
        (Attr("lanes", "int", default=None, doc="vector lanes; none: the target's widest"),),
        summary="vectorize an innermost loop (checked independent)",
    ),
    OpRow(
        "unroll",
        (_loop(), Operand("dynamic_factor", "index", optional=True)),
        (),
        (Attr("factor", "int", default=None, doc="unroll factor; none: the whole static extent"),),
        check=unroll_check,
        summary="ask code generation to unroll a loop",
    ),
    OpRow(
        "bind",
        (_loop(),),
        (),
        (Attr("thread", "str", choices=THREAD_AXES),),
        summary="bind a loop to a GPU thread axis (checked independent)",
    ),
    OpRow(
        "compute_at",
        (_block(), _loop()),
        (),
        summary="move a producer block under a consumer loop, computing only the region the loop's iteration reads",
    ),
    OpRow(
        "reverse_compute_at",
        (_block(), _loop()),
        (),
        summary="move a consumer block under a producer loop, consuming the region each iteration produces",
    ),
    OpRow("compute_inline", (_block(),), (), summary="inline a spatial producer block into every load of its buffer"),
    OpRow(
        "reverse_compute_inline",
        (_block(),),
        (),
        summary="inline a spatial consumer block into the store of its single producer",
    ),
    OpRow(
        "cache_read",
        (_block(),),
        (Result("cache", "index"),),
        (Attr("index", "int", doc="which buffer the block reads, in order of first load"), Attr("scope", "str", default="local", choices=BUFFER_SCOPES)),
        infer=one_handle,
        summary="copy a buffer the block reads into a new buffer before the block's nest; the block reads the copy",
    ),
    OpRow(
        "cache_write",
        (_block(),),
        (Result("cache", "index"),),
        (Attr("index", "int", doc="which buffer the block writes, in order of first store"), Attr("scope", "str", default="local", choices=BUFFER_SCOPES)),
        infer=one_handle,
        summary="the block writes a new buffer, copied back after the block's nest",
    ),
    OpRow(
        "decompose_reduction",
        (_block(), _loop()),
        (Result("init", "index"),),
        infer=one_handle,
        summary="move a reduction block's init into its own block nest placed before the loop",
    ),
    OpRow(
        "rfactor",
        (_loop(),),
        (Result("rf_block", "index"),),
        (Attr("factor_axis", "int", default=0),),
        infer=one_handle,
        summary="reduce over a reduction loop into partial results indexed by it, then reduce those",
    ),
    OpRow(
        "sample_perfect_tile",
        (_loop(),),
        (Result("factors", "index", variadic=True),),
        (
            Attr("n", "int"),
            Attr("max_innermost_factor", "int", default=16),
            Attr("decision", "ints", default=None, doc="the sampled factors, recorded for replay"),
        ),
        infer=perfect_tile_rule,
        summary="sample n factors whose product is the loop's static extent",
    ),
    OpRow(
        "sample_categorical",
        (),
        (Result("value", "index"),),
        (
            Attr("candidates", "ints"),
            Attr("probs", "floats", default=None),
            Attr("decision", "int", default=None, doc="index of the sampled candidate, recorded for replay"),
        ),
        infer=categorical_rule,
        summary="sample one of the candidate integers",
    ),
]

Schedule = build_dialect("schedule", TABLE)
DIALECT = Schedule
