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


def perfect_nest(outer: Operation) -> list[Operation]:
    """outer and the loops nested alone inside it, outermost first."""
    chain = [outer]
    while True:
        body = [op for op in chain[-1].regions[0].block.ops if op.name != "loop.yield"]
        if len(body) == 1 and body[0].name == "loop.for":
            chain.append(body[0])
        else:
            return chain


def permute_nest(chain: list[Operation], order: list[int]) -> None:
    """Make chain[order[i]]'s iteration the i-th loop. Legal for a perfect nest around blocks:
    each block's reduce iterators still run in ascending order for every spatial point."""
    headers = [(list(l.operands), dict(l.properties)) for l in chain]
    args = [l.regions[0].block.args[0] for l in chain]
    inside = {o for l in chain for o in l.walk()}
    for l in chain:
        for o in l.operands:
            if o.owner in inside or o in args:
                return  # a bound depends on an enclosing loop: not a rectangular nest
    uses = [(use.operation, use.index, q) for q, a in enumerate(args) for use in list(a.uses)]
    for i, q in enumerate(order):
        operands, props = headers[q]
        chain[i].operands = operands
        chain[i].properties = props
    new_var = {q: args[i] for i, q in enumerate(order)}
    for op, index, q in uses:
        ops = list(op.operands)
        ops[index] = new_var[q]
        op.operands = ops


def reduction_inward_order(chain: list[Operation]) -> list[int] | None:
    """Spatial loops but the last, then the reductions, then the last spatial loop: the
    innermost loop becomes a contiguous spatial one that vectorizes, and the reduction keeps a
    row of accumulators in cache."""
    kinds = [l.attr("kind") for l in chain]
    if kinds[-1] != "reduction" or "parallel" not in kinds or "serial" in kinds:
        return None
    spatial = [i for i, k in enumerate(kinds) if k == "parallel"]
    reduce = [i for i, k in enumerate(kinds) if k == "reduction"]
    order = spatial[:-1] + reduce + spatial[-1:]
    return order if order != list(range(len(chain))) else None


def schedule_nest(nest: Operation, vectorize: bool, threads: int) -> None:
    chain = perfect_nest(nest)
    order = reduction_inward_order(chain)
    if order is not None and vectorize:
        permute_nest(chain, order)
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


def bind_gpu(nest: Operation) -> None:
    """The first parallel loop with a static trip count runs over blocks, the next one (up to
    1024 iterations) over the threads of a block."""
    free_axes = ["blockIdx.x", "threadIdx.x"]
    for loop in perfect_nest(nest):
        if not free_axes or loop.attr("kind") != "parallel":
            continue
        trips = _trip_count(loop)
        if trips is None or (free_axes[0].startswith("thread") and trips > 1024):
            continue
        loop.properties["thread"] = StringAttr(free_axes.pop(0))


@dataclass(frozen=True)
class DefaultSchedule(ModulePass):
    """Annotate unscheduled nests: parallel outer loops, vectorized inner loops (or GPU binding)."""

    name = "default-schedule"
    vectorize: bool = True
    threads: int = 0  # 1: no parallel loops at all; 0 or more: parallelize nests worth it
    gpu: bool = False  # bind loops to CUDA blocks and threads instead

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            for nest in list(fn.body.block.ops) if fn.regions else []:
                if nest.name == "loop.for":
                    if self.gpu:
                        bind_gpu(nest)
                    else:
                        schedule_nest(nest, self.vectorize, self.threads)
