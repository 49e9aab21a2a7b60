"""`compact-buffers`: a buffer that lives within one iteration of a loop shrinks to what that
iteration touches, allocated inside the loop as a local buffer (TVM's compact buffer allocation).

After `compute-at`, a producer runs under its reader's loop and each iteration writes and reads
its own slice of a buffer that is still as big as the whole tensor: the padded channel of a
depthwise conv (58 x 58 floats per channel in a 64 x 58 x 58 buffer), the conv's 8 x 8 output
tile waiting for its bias add (in a 64 x 56 x 56 buffer). The whole buffer streams through the
caches once, written back though every element is dead one iteration later. Compacted, it is
the slice, on the stack of the thread that runs the iteration:

    %p = loop.alloc : memref<1x64x58x58xf32>       loop.for ... (%o) {
    loop.for ... (%o) {                        ->      %p = loop.alloc {scope = "local"} : memref<1x1x58x58xf32>
      ... %p[0, %o, %y, %x] ...                        ... %p[0, 0, %y, %x] ...

Every index of the buffer is an affine form (through block bindings) of loop variables; its
part over the compacting loop and the loops around it (the offset) must be the same in every
access, and the rest must have a range. Where it moves, the offset is dropped and the range's
low end subtracted. That keeps meaning when no iteration can see another's data, i.e. when
different iterations (of the compacting loop and the loops around it, out to the buffer's
scope) touch disjoint slices, and a parallel loop then needs no sharing either. Either every
such loop that runs more than once is the one variable of some axis's offset, scaled by at
least the slice's extent there; or, for a fused loop whose quotient and remainder address two
axes, the offsets evaluated at every iteration step by whole extents and never repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects.loop import Loop
from lamina.ir.types import BufferType, numpy_dtype
from lamina.interpreter.loop import BINARY
from lamina.passes.loop.simplify_indices import build_form, form_range
from lamina.passes.schedule.analysis import Affine, IndexAnalysis
from lamina.passes.schedule.nest import enclosing_loops, loop_var, static_extent, static_value

# A compacted buffer goes on the stack of the thread running the iteration; bigger slices stay
# in the workspace (worker threads' stacks are a few MiB, and L2 is 1 MiB).
MAX_LOCAL_BYTES = 64 * 1024
# Offsets that no stride rule separates are evaluated at every iteration, up to this many.
MAX_CHECKED_ITERATIONS = 1 << 16


@dataclass
class Compaction:
    loop: Operation  # the buffer moves into this loop's body
    extents: list[int]
    low: list[int]  # per axis, subtracted from the index's part over inner values
    inner: list[tuple[Operation, list[Affine]]]  # per access: the load or store, each axis's inner part
    rebased: list[bool]  # per axis: whether its indices change (an offset to drop or a low end to subtract)


def _common_loops(ops: list[Operation], scope: Operation) -> list[Operation]:
    """The loop.for ops enclosing every op, innermost first, below `scope` (the op holding the
    buffer's allocation)."""
    chains = [enclosing_loops(op, scope) for op in ops]
    return [loop for loop in reversed(chains[0]) if all(loop in chain for chain in chains[1:])]


def _runs_once(loop: Operation) -> bool:
    extent = static_extent(loop)
    return extent is not None and extent <= loop.attr("step")


def plan_compaction(alloc: Operation, analysis: IndexAnalysis) -> Compaction | None:
    buffer = alloc.results[0]
    t: BufferType = buffer.type
    uses = []
    for use in buffer.uses:
        op = use.operation
        if not (op.name == "loop.load" and use.index == 0 or op.name == "loop.store" and use.index == 1):
            return None
        uses.append(op)
    if not uses:
        return None
    scope = alloc.parent_op()
    candidates = _common_loops(uses, scope)
    itemsize = numpy_dtype(t.element_type).itemsize
    for depth, loop in enumerate(candidates):
        if loop.attr("vectorize"):
            continue  # an allocation in its body would keep it scalar
        plan = _plan_at(buffer, uses, loop, candidates[depth:], analysis)
        if plan is None:
            continue
        new_bytes = prod(plan.extents) * itemsize
        old_elements = prod(t.shape) if t.is_static else None
        if new_bytes > MAX_LOCAL_BYTES or old_elements is not None and prod(plan.extents) >= old_elements:
            return None  # an outer loop would only give a bigger slice
        return plan
    return None


def _plan_at(
    buffer: SSAValue, uses: list[Operation], loop: Operation, outer_loops: list[Operation], analysis: IndexAnalysis
) -> Compaction | None:
    rank = buffer.type.rank
    iteration_vars = {id(loop_var(lp)) for lp in outer_loops}
    access_offsets: list[list[dict[int, int]]] = []
    low: list[int] = [0] * rank
    high: list[int] = [0] * rank
    inner_parts: list[tuple[Operation, list[Affine]]] = []
    for op in uses:
        indices = op.operands[1:] if op.name == "loop.load" else op.operands[2:]
        parts, offsets = [], []
        for axis, index in enumerate(indices):
            form = analysis.affine(index)
            offset, inner = {}, []
            for key, coef in form.terms:
                if _fixed_in_iteration(analysis.atoms[key], iteration_vars, analysis):
                    offset[key] = coef
                else:
                    inner.append((key, coef))
            inner_form = Affine(form.const, tuple(inner))
            bounds = form_range(({analysis.atoms[k]: c for k, c in inner}, form.const))
            if bounds is None:
                return None
            first = not inner_parts
            low[axis] = bounds[0] if first else min(low[axis], bounds[0])
            high[axis] = bounds[1] if first else max(high[axis], bounds[1])
            parts.append(inner_form)
            offsets.append(offset)
        inner_parts.append((op, parts))
        access_offsets.append(offsets)
    offsets = access_offsets[0]
    if any(other != offsets for other in access_offsets[1:]) and not _same_offsets_everywhere(access_offsets, outer_loops, analysis):
        return None
    extents = [h - lo + 1 for lo, h in zip(low, high)]
    varying = [{k: c for k, c in offset.items() if analysis.loop_vars(analysis.atoms[k])} for offset in offsets]
    if not (_slices_apart_by_strides(varying, extents, outer_loops) or _slices_on_a_lattice(varying, extents, outer_loops, analysis)):
        return None
    rebased = [bool(offset) or lo != 0 for offset, lo in zip(offsets, low)]
    return Compaction(loop, extents, low, inner_parts, rebased)


def _fixed_in_iteration(value: SSAValue, iteration_vars: set[int], analysis: IndexAnalysis, depth: int = 0) -> bool:
    """Whether value is index arithmetic over the iteration's loop variables, constants and
    sizes alone (a loaded index may change within the iteration)."""
    bound = analysis.binding_of(value)
    if bound is not None:
        return _fixed_in_iteration(bound, iteration_vars, analysis, depth + 1)
    if isinstance(value, BlockArgument):
        return id(value) in iteration_vars
    owner = value.owner
    if owner.name in ("arith.constant", "loop.size"):
        return True
    if depth > 32 or owner.name not in EVALUATED and owner.name not in UNSIGNED:
        return False
    return all(_fixed_in_iteration(v, iteration_vars, analysis, depth + 1) for v in owner.operands)


def _same_offsets_everywhere(access_offsets: list[list[dict[int, int]]], loops: list[Operation], analysis: IndexAnalysis) -> bool:
    """Offsets that differ as values (the same quotient computed twice) but agree at every
    iteration."""
    grid = _iteration_grid(loops)
    if grid is None:
        return False
    first = None
    for offsets in access_offsets:
        values = [_offset_values(offset, grid, analysis) for offset in offsets]
        if any(v is None for v in values):
            return False
        if first is None:
            first = values
        elif any(not np.array_equal(a, b) for a, b in zip(first, values)):
            return False
    return True


def _offset_values(offset: dict[int, int], grid: "_Grid", analysis: IndexAnalysis) -> np.ndarray | None:
    total = np.zeros(grid.size, dtype=np.int64)
    for key, coef in offset.items():
        values = _evaluate(analysis.atoms[key], grid.values, 0)
        if values is None:
            return None
        total = total + coef * np.broadcast_to(values, total.shape)
    return total


def _slices_apart_by_strides(offsets: list[dict[int, int]], extents: list[int], loops: list[Operation]) -> bool:
    """Each loop that runs more than once is alone in some axis's offset, with a stride of at
    least the slice's extent there: two iterations differ in some loop, so their slices lie
    apart on that loop's axis."""
    for lp in loops:
        if _runs_once(lp):
            continue
        key = id(loop_var(lp))
        if not any(set(offset) == {key} and abs(offset[key]) * lp.attr("step") >= extent for offset, extent in zip(offsets, extents)):
            return False
    return True


def _slices_on_a_lattice(offsets: list[dict[int, int]], extents: list[int], loops: list[Operation], analysis: IndexAnalysis) -> bool:
    """The offsets evaluated over every iteration (a fused loop's quotient and remainder
    address two axes): they must step by whole extents on each axis and never repeat."""
    grid = _iteration_grid(loops)
    if grid is None:
        return False
    cells = []
    for offset, extent in zip(offsets, extents):
        total = _offset_values(offset, grid, analysis)
        if total is None:
            return False
        shifted = total - total[0]
        if np.any(shifted % extent):
            return False
        cells.append(shifted // extent)
    return len(np.unique(np.stack(cells, axis=1), axis=0)) == grid.size if cells else grid.size == 1


@dataclass
class _Grid:
    values: dict[SSAValue, np.ndarray]  # each loop variable at every iteration
    size: int


def _iteration_grid(loops: list[Operation]) -> _Grid | None:
    ranges = []
    for lp in loops:
        lower, upper = (static_value(v) for v in lp.operands)
        if lower is None or upper is None:
            return None
        ranges.append(np.arange(lower, upper, lp.attr("step"), dtype=np.int64))
    size = prod(len(r) for r in ranges)
    if size == 0 or size > MAX_CHECKED_ITERATIONS:
        return None
    mesh = np.meshgrid(*ranges, indexing="ij") if ranges else []
    return _Grid({loop_var(lp): m.ravel() for lp, m in zip(loops, mesh)}, size)


# The index arithmetic the offsets are evaluated through, with the loop interpreter's semantics.
EVALUATED = ("arith.addi", "arith.subi", "arith.muli", "arith.floordivsi", "arith.divsi", "arith.remsi", "arith.maxsi", "arith.minsi")
UNSIGNED = ("arith.divui", "arith.remui")
DIVISIONS = ("arith.floordivsi", "arith.divsi", "arith.remsi") + UNSIGNED


def _evaluate(value: SSAValue, variables: dict[SSAValue, np.ndarray], depth: int) -> np.ndarray | None:
    """An index value at every iteration of the grid, when index arithmetic computes it from
    the grid's loop variables."""
    if value in variables:
        return variables[value]
    const = static_value(value)
    if const is not None:
        return np.int64(const)
    owner = value.owner
    if depth > 32 or not isinstance(owner, Operation) or owner.name not in EVALUATED and owner.name not in UNSIGNED:
        return None
    a, b = (_evaluate(v, variables, depth + 1) for v in owner.operands)
    if a is None or b is None:
        return None
    if owner.name in DIVISIONS and np.any(b == 0) or owner.name in UNSIGNED and (np.any(a < 0) or np.any(b < 0)):
        return None  # the interpreter makes x / 0 zero; the code computes no such index
    return BINARY[owner.name](a, b)


def compact(alloc: Operation, plan: Compaction, analysis: IndexAnalysis) -> None:
    t: BufferType = alloc.results[0].type
    local = Loop["alloc"].build([], {"scope": "local"}, [BufferType.of(plan.extents, t.element_type)])
    body = plan.loop.regions[0].block
    body.insert_op_before(local, body.first_op)
    # In program order, and one value per index within a block: a reduction's load and store
    # of its accumulator must keep indexing it with the same values (the vectorizer matches them).
    position = {op: k for k, op in enumerate(plan.loop.walk())}
    built: dict[tuple, SSAValue] = {}
    for op, parts in sorted(plan.inner, key=lambda access: position[access[0]]):
        first_index = 1 if op.name == "loop.load" else 2
        for axis, form in enumerate(parts):
            if not plan.rebased[axis]:
                continue
            key = (op.parent_block(), form.terms, form.const - plan.low[axis])
            value = built.get(key)
            if value is None:
                terms = {analysis.atoms[k]: coef for k, coef in form.terms}
                ops, value = build_form((terms, form.const - plan.low[axis]))
                for new_op in ops:
                    op.parent_block().insert_op_before(new_op, op)
                built[key] = value
            op.operands[first_index + axis] = value
        op.operands[first_index - 1] = local.results[0]
    alloc.detach()
    alloc.erase()


def compact_function(fn: func.FuncOp) -> int:
    analysis = IndexAnalysis()
    allocs = [op for op in fn.walk() if op.name == "loop.alloc" and op.attr("scope") != "local" and not op.operands]
    done = 0
    for alloc in allocs:
        plan = plan_compaction(alloc, analysis)
        if plan is not None:
            compact(alloc, plan, analysis)
            done += 1
    return done


@dataclass(frozen=True)
class CompactBuffers(ModulePass):
    """Shrink each buffer used within one iteration of a loop to that iteration's slice, a local
    buffer inside the loop."""

    name = "compact-buffers"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.walk():
            if isinstance(fn, func.FuncOp):
                compact_function(fn)


__all__ = ["CompactBuffers", "MAX_LOCAL_BYTES", "compact_function", "plan_compaction"]
