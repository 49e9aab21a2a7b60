"""`default-schedule`: the schedule a loop function gets when nobody wrote one — every loop nest
runs its outermost parallel loop across threads when the nest has enough work to pay for the
fork, and vectorizes its innermost loop when that loop is parallel (independent iterations).

Written as annotations on `loop.for`, the same ones the schedule primitives set, so a tuned or
hand-written schedule replaces it without touching code generation.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass

# Below this many innermost iterations a nest stays on one thread: forking costs microseconds.
MIN_PARALLEL_WORK = 1 << 14


def _trip_count(loop: Operation) -> int | None:
    lower, upper = (o.owner for o in loop.operands)
    if isinstance(lower, arith.ConstantOp) and isinstance(upper, arith.ConstantOp):
        if isinstance(lower.result.type, IndexType):
            return max(0, upper.value.value.data - lower.value.value.data)
    return None


def _loops(op: Operation) -> list[Operation]:
    return [inner for inner in op.walk() if inner.name == "loop.for"]


def _work(nest: Operation) -> int | None:
    """Iterations of the whole nest, None when a bound is symbolic (then assume it is large)."""
    total = 1
    for loop in _loops(nest):
        count = _trip_count(loop)
        if count is None:
            return None
        total *= max(count, 1)
    return total


def schedule_nest(nest: Operation, vectorize: bool, threads: int) -> None:
    loops = _loops(nest)
    innermost = [l for l in loops if not any(inner.name == "loop.for" for inner in l.walk() if inner is not l)]
    if vectorize:
        for loop in innermost:
            if loop.attr("kind") == "parallel" and loop.attr("step") == 1 and loop.attr("unroll") is None:
                loop.properties["vectorize"] = IntegerAttr(1, 1)
    if threads != 1:
        work = _work(nest)
        if work is None or work >= MIN_PARALLEL_WORK:
            return
    # One thread, or a nest too small to pay for a fork: its parallel loops run serially.
    for loop in loops:
        if loop.attr("kind") == "parallel":
            loop.properties["kind"] = StringAttr("serial")


@dataclass(frozen=True)
class DefaultSchedule(ModulePass):
    name = "default-schedule"
    vectorize: bool = True
    threads: int = 0  # 1: no parallel loops at all; 0 or more: parallelize nests worth it

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            for nest in list(fn.body.block.ops) if fn.regions else []:
                if nest.name == "loop.for":
                    schedule_nest(nest, self.vectorize, self.threads)
