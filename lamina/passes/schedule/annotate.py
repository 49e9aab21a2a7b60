"""Annotation primitives: parallel, vectorize, unroll, bind. They change how code generation
runs a loop, not what it computes, so each first proves the loop's iterations independent
(parallel, bind, vectorize of a spatial loop) or its unroll factor sensible."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerAttr, StringAttr
from xdsl.ir import Operation

from lamina.ir.diagnostics import error_at
from lamina.passes.schedule.analysis import carried_dependence
from lamina.passes.schedule.nest import enclosing_loops, loops_under, trip_count


def _independent(loop: Operation, what: str, at: Operation) -> None:
    reason = carried_dependence(loop)
    if reason is not None:
        raise error_at(at, f"cannot {what} '{loop.attr('label')}': {reason}")


def parallel(loop: Operation, at: Operation) -> None:
    _independent(loop, "parallelize", at)
    loop.properties["kind"] = StringAttr("parallel")


def vectorize(loop: Operation, lanes: int | None, at: Operation) -> None:
    """A reduction loop vectorizes as a reduction: the lanes hold partial results, folded once at
    the end (a float sum is reassociated). Code generation does that where the loop's block
    updates one accumulator from loads contiguous along the loop, and runs it serially otherwise.
    `lanes` (a power of two) narrows the vectors below the target's widest."""
    if loops_under(loop):
        raise error_at(at, f"cannot vectorize '{loop.attr('label')}': it is not an innermost loop")
    if lanes is not None and (lanes < 2 or lanes & (lanes - 1)):
        raise error_at(at, f"cannot vectorize '{loop.attr('label')}' in {lanes} lanes: the lanes must be a power of two, at least 2")
    if loop.attr("kind") != "reduction":
        _independent(loop, "vectorize", at)
    loop.properties["vectorize"] = IntegerAttr(1, 1)
    if lanes is None:
        loop.properties.pop("lanes", None)
    else:
        loop.properties["lanes"] = IntegerAttr(lanes, 64)


def unroll(loop: Operation, factor: int | None, at: Operation) -> None:
    if factor is None:
        factor = trip_count(loop)
        if factor is None:
            raise error_at(at, f"cannot fully unroll '{loop.attr('label')}': its trip count is not static (give a factor)")
    if factor < 1:
        raise error_at(at, f"the unroll factor must be positive, got {factor}")
    if factor == 1:
        loop.properties.pop("unroll", None)
        return
    loop.properties["unroll"] = IntegerAttr(factor, 64)


def bind(loop: Operation, thread: str, at: Operation) -> None:
    _independent(loop, f"bind '{thread}' to", at)
    for outer in enclosing_loops(loop):
        if outer.attr("thread") == thread:
            raise error_at(at, f"cannot bind '{thread}' to '{loop.attr('label')}': the enclosing loop '{outer.attr('label')}' is bound to it already")
    for inner in loops_under(loop):
        if inner.attr("thread") == thread:
            raise error_at(at, f"cannot bind '{thread}' to '{loop.attr('label')}': the inner loop '{inner.attr('label')}' is bound to it already")
    loop.properties["thread"] = StringAttr(thread)
