"""compute_at and reverse_compute_at (TVM semantics).

compute_at(P, L): the producer block P moves to the start of loop L's body and, per iteration of
L (and the loops around it), computes only the region of its buffer that the consumers under L
read. reverse_compute_at(C, L): the consumer C moves to the end of L's body and consumes only
the region of its input that the producers under L wrote in that iteration.

Regions come from affine index analysis: loops at or around L are fixed, loops inside L range
over their static bounds; each index dimension of every access must be `fixed part + bounded
part` with one fixed part per dimension. New iterators are guarded to the block's domain
whenever the region could leave it (non-dividing splits, stencils at the edge).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import Operation, SSAValue

from lamina.dialects.loop import REDUCE
from lamina.ir.diagnostics import LaminaError, error_at
from lamina.passes.schedule.analysis import Access, Affine, IndexAnalysis, accesses
from lamina.passes.schedule.blocks import (
    available_before,
    values_from_outside,
    is_intermediate,
    label,
    loads_of,
    nest_index,
    nests_between,
    only_block_in_nest,
    single_store,
    touches,
    writers,
    buffer_dims_of_iterators,
)
from lamina.passes.schedule.nest import (
    IndexMath,
    blocks_under,
    enclosing_loops,
    function_of,
    loop_var,
    loops_under,
    new_if,
    new_loop,
    prune_empty_loops,
    static_value,
    terminate,
    top_level,
)
from lamina.passes.schedule.primitives import Runner, register
from lamina.passes.schedule.state import ScheduleState


@dataclass
class DimRegion:
    base: Affine  # the part fixed by L and the loops around it (const 0)
    low: int  # offsets from base, inclusive
    high: int

    @property
    def extent(self) -> int:
        return self.high - self.low + 1


def _inner_ranges(loop: Operation, group: list[Access], at: Operation, what: str) -> dict[int, tuple[int, int]]:
    ranges = {}
    for access in group:
        for inner in enclosing_loops(access.op, stop=None):
            if inner is loop or not loop.is_ancestor(inner):
                continue
            lo, hi = (static_value(v) for v in inner.operands)
            if lo is None or hi is None:
                raise error_at(at, f"cannot {what}: the loop '{inner.attr('label')}' inside '{loop.attr('label')}' has symbolic bounds")
            if hi <= lo:
                continue
            last = lo + (hi - 1 - lo) // inner.attr("step") * inner.attr("step")
            ranges[id(loop_var(inner))] = (lo, last)
    return ranges


def _dense(terms: list[tuple[int, int]], ranges: dict[int, tuple[int, int]]) -> bool:
    """Whether sum(c * v) over step-1 loops hits every value between its min and max: the
    coefficients form a mixed radix (1, e1, e1*e2, ...) of the loops' extents."""
    radix = 1
    for k, c in sorted(terms, key=lambda t: abs(t[1])):
        lo, hi = ranges[k]
        if abs(c) != radix:
            return False
        radix *= hi - lo + 1
    return True


def access_region(loop: Operation, group: list[Access], at: Operation, what: str, exact: bool = False) -> list[DimRegion]:
    """The box of elements the accesses touch per iteration of loop. With `exact`, the box must
    be exactly what every access touches (a consumer will read all of it): dense, one loop per
    dimension, the same box for every access."""
    analysis = IndexAnalysis()
    ranges = _inner_ranges(loop, group, at, what)
    inner_ids = set(ranges)
    regions: list[DimRegion] | None = None
    steps = {id(loop_var(l)): l.attr("step") for l in loops_under(loop)}
    for access in group:
        dims = []
        used: set[int] = set()
        for index in access.indices:
            form = analysis.affine(index)
            fixed, low, high = [], form.const, form.const
            inner_terms = [(k, c) for k, c in form.terms if k in ranges]
            if exact and (
                not _dense(inner_terms, ranges) or any(steps.get(k) != 1 or k in used for k, _ in inner_terms)
            ):
                raise error_at(at, f"cannot {what}: the elements written under '{loop.attr('label')}' do not fill a box, so the consumer could read unwritten ones")
            used.update(k for k, _ in inner_terms)
            for k, c in form.terms:
                if k in ranges:
                    lo, hi = ranges[k]
                    low += min(c * lo, c * hi)
                    high += max(c * lo, c * hi)
                elif analysis.loop_vars(analysis.atoms[k]) & inner_ids:
                    raise error_at(at, f"cannot {what}: an index is not affine in the loops inside '{loop.attr('label')}'")
                else:
                    fixed.append((k, c))
            dims.append(DimRegion(Affine(0, tuple(fixed)), low, high))
        if regions is None:
            regions = dims
            continue
        for r, d in zip(regions, dims):
            if exact and (r.base, r.low, r.high) != (d.base, d.low, d.high):
                raise error_at(at, f"cannot {what}: the stores under '{loop.attr('label')}' write different regions")
            if r.base != d.base:
                raise error_at(at, f"cannot {what}: the accesses under '{loop.attr('label')}' do not move together, so their region cannot be bounded")
            r.low, r.high = min(r.low, d.low), max(r.high, d.high)
    return regions or []


def materialize(value: SSAValue, loop: Operation, math: IndexMath) -> SSAValue:
    """value, recomputed at `math`'s insertion point when it is defined inside `loop` (e.g. a
    fused loop's quotient): its index arithmetic is cloned from values that dominate it."""
    owner = value.owner
    if not isinstance(owner, Operation) or not loop.is_ancestor(owner):
        return value
    if not owner.name.startswith("arith.") or owner.regions:
        raise LaminaError(f"cannot recompute {owner.name} outside its loop")
    mapping = {v: materialize(v, loop, math) for v in owner.operands}
    clone = math.add_op(owner.clone(value_mapper=mapping))
    return clone.results[list(owner.results).index(value)]


def _emit_affine(math: IndexMath, form: Affine, atoms: dict[int, SSAValue], loop: Operation) -> SSAValue | int:
    value: SSAValue | int = form.const
    # Terms are keyed by object ids; emit them in the analysis's (deterministic) discovery
    # order so a replayed trace prints the same IR.
    order = {k: n for n, k in enumerate(atoms)}
    for k, c in sorted(form.terms, key=lambda term: order[term[0]]):
        value = math.add(value, math.mul(materialize(atoms[k], loop, math), c))
    return value


def fixed_loop_ranges(loop: Operation) -> dict[int, tuple[int, int]]:
    """Static value ranges of the variables of loop and the loops around it."""
    ranges = {}
    for l in [*enclosing_loops(loop), loop]:
        lo, hi = (static_value(v) for v in l.operands)
        if lo is not None and hi is not None and hi > lo:
            ranges[id(loop_var(l))] = (lo, lo + (hi - 1 - lo) // l.attr("step") * l.attr("step"))
    return ranges


def _within(region: DimRegion, domain, fixed_ranges: dict[int, tuple[int, int]]) -> bool:
    """Whether base + [low, high] provably stays inside [0, domain)."""
    if not isinstance(domain, int):
        return False
    low, high = region.low, region.high
    for k, c in region.base.terms:
        if k not in fixed_ranges:
            return False
        lo, hi = fixed_ranges[k]
        low += min(c * lo, c * hi)
        high += max(c * lo, c * hi)
    return low >= 0 and high < domain


def _build_nest(
    state: ScheduleState,
    block: Operation,
    anchor_block,
    before: Operation | None,
    iterators: list[tuple[str, object]],
    analysis_atoms: dict[int, SSAValue],
    size_math: IndexMath,
    scope: Operation,
) -> None:
    fixed_ranges = fixed_loop_ranges(scope)
    """A nest (at `before` in anchor_block, else at its end) running `block` with one binding per
    iterator: ("region", DimRegion, domain extent) loops over the region and is guarded to the
    domain; ("full", extent, kind) loops over the whole domain."""
    zero = size_math.const(0)
    loops, bindings, guards = [], [], []
    base_label = label(block)
    labels = state.fresh_labels(base_label, len(iterators))
    for (what, spec), lab in zip(iterators, labels):
        if what == "region":
            region, domain = spec
            kind = "parallel"
            upper = size_math.const(region.extent)
        else:
            extent, kind = spec
            upper = size_math.size(extent)
        loops.append(new_loop(zero, upper, lab, "reduction" if kind == REDUCE else "parallel"))
    for outer, inner in zip(loops, loops[1:]):
        outer.regions[0].block.add_op(inner)
        terminate(outer.regions[0].block)
    host = loops[-1].regions[0].block
    math = IndexMath(block=host)
    for (what, spec), l in zip(iterators, loops):
        if what == "region":
            region, domain = spec
            start = _emit_affine(math, region.base, analysis_atoms, scope)
            value = math.value(math.add(math.add(start, region.low), loop_var(l)))
            statically_inside = _within(region, domain, fixed_ranges)
            if not statically_inside:
                guards.append(math.both(math.compare("sge", value, 0), math.less(value, size_math.size(domain))))
            bindings.append(value)
        else:
            bindings.append(loop_var(l))
    target = host
    if guards:
        cond = guards[0]
        for g in guards[1:]:
            cond = math.both(cond, g)
        guard = new_if(cond)
        host.add_op(guard)
        target = guard.regions[0].block
    old_parent = block.parent_block()
    block.detach()
    block.operands = bindings
    target.add_op(block)
    if guards:
        terminate(target)
    terminate(host)
    if before is not None:
        anchor_block.insert_op_before(loops[0], before)
    else:
        anchor_block.insert_op_before(loops[0], anchor_block.last_op)
    prune_empty_loops(old_parent)


def _atoms(loop: Operation, group: list[Access]) -> dict[int, SSAValue]:
    analysis = IndexAnalysis()
    for a in group:
        for i in a.indices:
            analysis.affine(i)
    return analysis.atoms


def compute_at(state: ScheduleState, block: Operation, loop: Operation, at: Operation) -> None:
    what = f"compute '{label(block)}' at '{loop.attr('label')}'"
    fn = function_of(block)
    if loop.is_ancestor(block):
        raise error_at(at, f"cannot {what}: the block is already under that loop")
    if not only_block_in_nest(block):
        raise error_at(at, f"cannot {what}: its loop nest holds other blocks")
    if nest_index(block) >= nest_index(loop):
        raise error_at(at, f"cannot {what}: the block must come before the loop")
    store = single_store(block, at, what)
    buffer = store.buffer
    axes = buffer_dims_of_iterators(block, store)
    if not is_intermediate(buffer) or axes is None:
        raise error_at(at, f"cannot {what}: the block must write a whole intermediate buffer at its iterators")
    if writers(fn, buffer) != [block]:
        raise error_at(at, f"cannot {what}: another block writes the same buffer")
    # A reduction reads its own accumulator: that is not a consumer.
    consumers = [a for a in loads_of(fn) if a.buffer is buffer and not block.is_ancestor(a.op)]
    if not consumers:
        raise error_at(at, f"cannot {what}: nothing reads the buffer it writes")
    outside = [a for a in consumers if not loop.is_ancestor(a.op)]
    if outside:
        raise error_at(at, f"cannot {what}: a consumer of its buffer is not under the loop")
    position = nest_index(block)
    for read in {a.buffer for a in loads_of(block)}:
        for w in writers(fn, read):
            if nest_index(w) >= position and w is not block:
                raise error_at(at, f"cannot {what}: a buffer it reads is written after it")
    regions = access_region(loop, consumers, at, what)
    atoms = _atoms(loop, consumers)
    kinds, domain = block.attr("iter_kinds"), block.attr("domain")
    spatial = [k for k, c in enumerate(kinds) if c != REDUCE]
    iterators: list = [None] * len(kinds)
    for d, k in enumerate(spatial):
        iterators[k] = ("region", (regions[axes[d]], domain[k]))
    for k, c in enumerate(kinds):
        if c == REDUCE:
            iterators[k] = ("full", (domain[k], REDUCE))
    size_math = IndexMath(top_level(loop))
    body = loop.regions[0].block
    _build_nest(state, block, body, body.first_op, iterators, atoms, size_math, loop)


def reverse_compute_at(state: ScheduleState, block: Operation, loop: Operation, at: Operation) -> None:
    what = f"reverse-compute '{label(block)}' at '{loop.attr('label')}'"
    fn = function_of(block)
    if loop.is_ancestor(block):
        raise error_at(at, f"cannot {what}: the block is already under that loop")
    if not only_block_in_nest(block):
        raise error_at(at, f"cannot {what}: its loop nest holds other blocks")
    if nest_index(block) <= nest_index(loop):
        raise error_at(at, f"cannot {what}: the block must come after the loop")
    under = blocks_under(loop)
    produced = [b for b in dict.fromkeys(a.buffer for a in loads_of(block)) if any(w in under for w in writers(fn, b))]
    if len(produced) != 1:
        raise error_at(at, f"cannot {what}: it must read exactly one buffer written under the loop, it reads {len(produced)}")
    (buffer,) = produced
    producers = writers(fn, buffer)
    if block in producers and not _updates_in_place(block, buffer):
        raise error_at(at, f"cannot {what}: it writes the buffer it reads elsewhere than where it reads it")
    # A block updating its input in place (a bias add into an output buffer) moves with it.
    if any(p not in under and p is not block for p in producers):
        raise error_at(at, f"cannot {what}: its input is also written outside the loop")
    fixed = {id(loop_var(l)) for l in [*enclosing_loops(loop), loop]}
    analysis = IndexAnalysis()
    for p in producers:
        for k, v in zip(p.attr("iter_kinds"), p.operands):
            if k == REDUCE and analysis.loop_vars(v) & fixed:
                raise error_at(at, f"cannot {what}: '{loop.attr('label')}' is a reduction loop of the producer '{label(p)}', so its output is not complete inside one iteration")
    args = list(block.regions[1].block.args)
    loads = [a for a in loads_of(block) if a.buffer is buffer]
    index = loads[0].indices
    kinds, domain = block.attr("iter_kinds"), block.attr("domain")
    if (
        any(a.indices != index for a in loads)
        or any(v not in args for v in index)
        or len(set(map(id, index))) != len(index)
        or any(kinds[args.index(v)] == REDUCE for v in index)
    ):
        raise error_at(at, f"cannot {what}: it must read its input at distinct spatial iterators")
    for between in [*nests_between(loop, block), *[b for b in blocks_under(top_level(loop)) if b not in under and b is not block]]:
        if touches(between, single_store(block, at, what).buffer):
            raise error_at(at, f"cannot {what}: the buffer it writes is used between the loop and the block")
        for read in {a.buffer for a in loads_of(block)}:
            if touches(between, read, stores_only=True):
                raise error_at(at, f"cannot {what}: a buffer it reads is written between the loop and the block")
    if available_before(values_from_outside(block), top_level(loop)) is not None:
        raise error_at(at, f"cannot {what}: it uses a value defined after the loop's nest")
    stores = [a for a in accesses(loop) if a.is_store and a.buffer is buffer]
    regions = access_region(loop, stores, at, what, exact=True)
    atoms = _atoms(loop, stores)
    iterators: list = []
    for k, c in enumerate(kinds):
        arg = args[k]
        if arg in index:
            iterators.append(("region", (regions[index.index(arg)], domain[k])))
        else:
            iterators.append(("full", (domain[k], c)))
    size_math = IndexMath(top_level(loop))
    _build_nest(state, block, loop.regions[0].block, None, iterators, atoms, size_math, loop)


def _updates_in_place(block: Operation, buffer) -> bool:
    """Every load and store of `buffer` in the block is at one index: element k is read, then
    written, only by the iteration that owns it."""
    found = [a for a in accesses(block) if a.buffer is buffer]
    return all(a.indices == found[0].indices for a in found)


@register("compute_at")
def _compute_at(r: Runner, op: Operation):
    compute_at(r.state, r.block(op.operands[0], op), r.loop(op.operands[1], op), op)
    return []


@register("reverse_compute_at")
def _reverse_compute_at(r: Runner, op: Operation):
    reverse_compute_at(r.state, r.block(op.operands[0], op), r.loop(op.operands[1], op), op)
    return []


__all__ = ["access_region", "compute_at", "reverse_compute_at"]
