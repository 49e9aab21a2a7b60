"""`default-schedule`: the schedule a loop function gets when nobody wrote one.

- Elementwise chains merge into one nest first (`lamina.lowering.elementwise_fusion`).
- A contraction nest (matmul, batched matmul, conv2d: spatial loops around reduction
  loops over one block) gets a register tile applied with the schedule primitives
  (`lamina.lowering.register_tiling`): split, reorder, decompose-reduction, unroll, vectorize,
  fuse for threads — the same rewrites a hand-written `schedule.sequence` runs.
- Any other nest gets annotations: a reduction along contiguous rows (softmax, layer norm, a
  mean over the last axis) vectorized as a reduction (`lamina.lowering.vector_reduction`), other
  reductions moved inside the last spatial loop, innermost parallel loops vectorized, leading
  parallel loops fused when the outermost one has too few iterations for the threads (a batch
  of one).
- A nest with too little work for a fork runs serially.

Everything is expressed as `loop.for` kinds and annotations, the ones the schedule primitives
set, so a tuned or hand-written schedule replaces this one without touching code generation.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from lamina.dialects.loop import REDUCE
from lamina.ir.diagnostics import LaminaError
from lamina.lowering.elementwise_fusion import fuse_elementwise
from lamina.lowering.epilogue_fusion import fuse_epilogue
from lamina.lowering.register_tiling import Tiled, apply_tile, fusable_prefix_trips, fuse_for_threads, plan_tile
from lamina.lowering.row_fusion import fuse_rows
from lamina.lowering.vector_reduction import loop_block
from lamina.passes.schedule.nest import is_block, top_level
from lamina.schedule import Schedule
from lamina.targets.host import host_target

# Below this many loads and stores a nest stays on one thread: forking costs microseconds. This
# is 16384 iterations of a binary elementwise op. Work counts the accesses, not only the
# iterations: a Winograd transform reads 16 elements an iteration, and ResNet's transforms at
# 14x14 and 7x7 (12544 and 8192 iterations) ran on one thread while the other waited.
MIN_PARALLEL_WORK = 3 << 14


def _trip_count(loop: Operation) -> int | None:
    lower, upper = (o.owner for o in loop.operands)
    if isinstance(lower, arith.ConstantOp) and isinstance(upper, arith.ConstantOp):
        if isinstance(lower.result.type, IndexType):
            return max(0, upper.value.value.data - lower.value.value.data)
    return None


def _loops(op: Operation) -> list[Operation]:
    return [inner for inner in op.walk() if inner.name == "loop.for"]


def _work(nest: Operation) -> int | None:
    """Iterations of the whole nest times the loads and stores in its body, None when a bound
    is symbolic (then assume it is large)."""
    total = 1
    for loop in _loops(nest):
        count = _trip_count(loop)
        if count is None:
            return None
        total *= max(count, 1)
    return total * max(1, sum(1 for op in nest.walk() if op.name in ("loop.load", "loop.store")))


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


def reduces_along_rows(chain: list[Operation]) -> bool:
    """The innermost loop is a reduction whose variable is the last index of a load of the
    nest's block: the reduced rows are contiguous, and the reduction itself vectorizes
    (lamina.lowering.vector_reduction) where moving it outward would read them by columns."""
    loop = chain[-1]
    if loop.attr("kind") != "reduction" or loop.attr("step") != 1:
        return False
    found = loop_block(loop)
    if found is None:
        return False
    block = found[1]
    var = loop.regions[0].block.args[0]
    row_args = {a for a, b, k in zip(block.regions[1].block.args, block.operands, block.attr("iter_kinds")) if b is var and k == REDUCE}
    return any(op.name == "loop.load" and len(op.operands) > 1 and op.operands[-1] in row_args for op in block.walk())


def schedule_nest(nest: Operation, vectorize: bool, threads: int) -> None:
    """The annotation-only schedule: reductions moved inside (or vectorized where they run
    along rows), innermost parallel loops vectorized, and parallel loops made serial when the
    nest does not pay for a fork."""
    chain = perfect_nest(nest)
    if vectorize and reduces_along_rows(chain):
        chain[-1].properties["vectorize"] = IntegerAttr(1, 1)
    else:
        order = reduction_inward_order(chain)
        if order is not None and vectorize:
            permute_nest(chain, order)
    loops = _loops(nest)
    innermost = [l for l in loops if not any(inner.name == "loop.for" for inner in l.walk() if inner is not l)]
    if vectorize:
        for loop in innermost:
            if loop.attr("kind") == "parallel" and loop.attr("step") == 1 and loop.attr("unroll") is None:
                loop.properties["vectorize"] = IntegerAttr(1, 1)
    if not worth_threads(nest, threads):
        serialize(nest)


def schedule_row_group(sch: Schedule, nest: Operation, anchor: str, threads: int) -> None:
    """A fused row group (lamina.lowering.row_fusion): the loops along each row vectorized (a
    row reduction as a reduction), the row loops shared by the threads."""
    for loop in _loops(nest):
        if any(inner.name == "loop.for" for inner in loop.walk() if inner is not loop) or loop.attr("step") != 1:
            continue
        if loop.attr("kind") == "parallel" and loop.attr("unroll") is None or reduces_along_rows([loop]):
            loop.properties["vectorize"] = IntegerAttr(1, 1)
    if not worth_threads(nest, threads):
        serialize(nest)
        return
    rows = sch.get_loops(sch.get_block(anchor))[:-1]
    by_label = {op.attr("label"): op for op in _loops(nest)}
    trips = [_trip_count(by_label[loop.label]) for loop in rows]
    if len(rows) < 2 or None in trips or trips[0] >= 4 * threads:
        return
    try:
        with sch.transaction(nest):
            fuse_for_threads(sch, rows, trips, threads)
    except LaminaError:
        return


def worth_threads(nest: Operation, threads: int) -> bool:
    if threads == 1:
        return False
    work = _work(nest)
    return work is None or work >= MIN_PARALLEL_WORK


def serialize(nest: Operation) -> None:
    """One thread, or a nest too small to pay for a fork: its parallel loops run serially."""
    for loop in _loops(nest):
        if loop.attr("kind") == "parallel":
            loop.properties["kind"] = StringAttr("serial")


def nest_block_label(chain: list[Operation]) -> str | None:
    inner = [op for op in chain[-1].regions[0].block.ops if op.name != "loop.yield"]
    return inner[0].attr("label") if len(inner) == 1 and inner[0].name == "loop.block" else None


def schedule_function(fn: func.FuncOp, vectorize: bool, threads: int) -> func.FuncOp:
    """`fn` (detached) scheduled in place: register tiles for the contraction nests first, their
    elementwise epilogues fused into them, then the plain schedule for every other nest.
    Returns the scheduled function (a refusal may have replaced `fn` by its backup)."""
    lanes = host_target().vector_lanes(4)
    sch = Schedule(fn, copy=False)
    hoist_definitions(sch.func)
    tiles: list[tuple[str, Tiled]] = []
    if vectorize:
        fuse_elementwise(sch)
        # A tile may add a nest before its own (the packed copy of its row operand).
        for nest in top_level_nests(sch):
            tiled = tile_nest(sch, nest, lanes, threads)
            if tiled is not None:
                tiles.append(tiled)
    tiled_labels = {label for label, _ in tiles}
    with sch.without_copies():
        for label, tiled in tiles:
            if tiled.anchor is not None:
                tiled_labels.update(fuse_epilogue(sch, label, tiled.anchor, tiled.lanes))
    for label, tiled in tiles:
        if not tiled.parallel:
            serialize(top_level(sch.runner.state.block_named(label, sch.sequence)))
    row_anchors = set(fuse_rows(sch, top_level_nests(sch), tiled_labels)) if vectorize else set()
    for index in range(len(top_level_nests(sch))):
        nest = top_level_nests(sch)[index]
        labels = {op.attr("label") for op in nest.walk() if is_block(op)}
        if labels & tiled_labels:
            continue
        anchor = labels & row_anchors
        if anchor:
            schedule_row_group(sch, nest, anchor.pop(), threads)
            continue
        schedule_nest(nest, vectorize, threads)
        spread_over_threads(sch, index, threads)
    for op in list(sch.func.body.block.ops):
        if op.name == "loop.const" and not op.results[0].uses:
            sch.func.body.block.erase_op(op)  # a weight packed into panels: one copy in the binary
    return sch.func


HOISTABLE = ("arith.constant", "loop.size", "loop.const", "loop.alloc")


def hoist_definitions(fn: func.FuncOp) -> None:
    """Constants, sizes, weights and buffer allocations to the top of the function, in order.
    They depend on nothing that runs, and a consumer moved into an earlier nest (epilogue
    fusion) may then use them there. The memory plan dates a buffer by its uses, not by its
    allocation, so reuse is unchanged."""
    block = fn.body.block
    movable = [op for op in block.ops if op.name in HOISTABLE and all(o.owner.name in HOISTABLE for o in op.operands if isinstance(o.owner, Operation))]
    first = block.first_op
    for op in movable:
        if op is first:
            first = op.next_op
            continue
        op.detach()
        block.insert_op_before(op, first) if first is not None else block.add_op(op)


def top_level_nests(sch: Schedule) -> list[Operation]:
    return [op for op in sch.func.body.block.ops if op.name == "loop.for"]


def tile_nest(sch: Schedule, nest: Operation, lanes: int, threads: int) -> tuple[str, Tiled] | None:
    """The register tile of a top-level nest when it is a contraction nest the template fits:
    (its block's label, the result), or None with the nest unchanged."""
    chain = perfect_nest(nest)
    trips = [_trip_count(l) for l in chain]
    plan = plan_tile(chain, trips, lanes)
    if plan is None:
        return None
    try:
        with sch.transaction(nest):
            tiled = apply_tile(sch, plan, trips, threads, worth_threads(nest, threads))
    except LaminaError:
        return None  # a primitive refused: the plain schedule is always legal
    return plan.label, tiled


def spread_over_threads(sch: Schedule, index: int, threads: int) -> None:
    """A parallel nest whose outermost loop has too few iterations for the threads (a batch of
    one) gets its leading parallel loops fused into one."""
    nest = top_level_nests(sch)[index]
    chain = perfect_nest(nest)
    if chain[0].attr("kind") != "parallel" or len(chain) < 2:
        return
    trips = fusable_prefix_trips(chain, [_trip_count(l) for l in chain])
    if not trips or trips[0] >= 4 * threads:
        return
    label = nest_block_label(chain)
    if label is None or len(trips) < 2:
        return
    try:
        with sch.transaction(nest):
            loops = sch.get_loops(sch.get_block(label))[: len(trips)]
            fuse_for_threads(sch, loops, trips, threads)
    except LaminaError:
        return


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
    """Register tiles for contraction nests, parallel outer and vectorized inner loops elsewhere (or GPU binding)."""

    name = "default-schedule"
    vectorize: bool = True
    threads: int = 0  # 1: no parallel loops at all; 0 or more: parallelize nests worth it
    gpu: bool = False  # bind loops to CUDA blocks and threads instead

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        threads = self.threads or host_target().cores
        for fn in list(op.ops):
            if not isinstance(fn, func.FuncOp) or not fn.regions:
                continue
            if self.gpu:
                for nest in list(fn.body.block.ops):
                    if nest.name == "loop.for":
                        bind_gpu(nest)
                continue
            after = fn.next_op
            fn.detach()
            scheduled = schedule_function(fn, self.vectorize, threads)
            scheduled.detach()
            if after is not None:
                op.body.block.insert_op_before(scheduled, after)
            else:
                op.body.block.add_op(scheduled)
