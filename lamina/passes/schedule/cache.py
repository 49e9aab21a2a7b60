"""cache_read and cache_write (TVM semantics, whole-buffer caches).

cache_read(B, i, scope): the i-th buffer B reads is copied into a new buffer of that scope just
before B's loop nest, and B reads the copy. cache_write(B, i, scope): B writes its i-th output
into a new buffer, copied to the original right after B's nest. Both return the copy block.
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from lamina.dialects.loop import REDUCE, SPATIAL, Loop
from lamina.ir.diagnostics import error_at
from lamina.passes.schedule.analysis import accesses
from lamina.passes.schedule.blocks import label, touches, writers
from lamina.passes.schedule.nest import IndexMath, blocks_under, function_of, loop_var, new_loop, terminate, top_level
from lamina.passes.schedule.primitives import Runner, register
from lamina.passes.schedule.reduction import new_block
from lamina.passes.schedule.state import BlockHandle, ScheduleState


def _alloc_like(math: IndexMath, buffer: SSAValue, scope: str) -> SSAValue:
    t = buffer.type
    sizes = [math.size(d) for d in t.shape if not isinstance(d, int)]
    return math.add_op(Loop["alloc"].build(sizes, {"scope": scope}, [t])).results[0]


def _copy_nest(state: ScheduleState, math: IndexMath, src: SSAValue, dst: SSAValue, block_label: str) -> Operation:
    """A nest copying every element of src into dst, added through math; returns its block."""
    shape = list(src.type.shape)
    zero = math.const(0)
    loops = [new_loop(zero, math.size(d), state.fresh_label(f"{block_label}_ax{k}", bare=True), "parallel") for k, d in enumerate(shape)]
    for outer, inner in zip(loops, loops[1:]):
        outer.regions[0].block.add_op(inner)
        terminate(outer.regions[0].block)
    op, init, body = new_block(block_label, [loop_var(l) for l in loops], SPATIAL * len(shape), shape)
    terminate(init)
    value = Loop["load"].build([src, *body.args])
    body.add_op(value)
    body.add_op(Loop["store"].build([value.results[0], dst, *body.args], result_types=[]))
    terminate(body)
    if loops:
        loops[-1].regions[0].block.add_op(op)
        terminate(loops[-1].regions[0].block)
        math.add_op(loops[0])
    else:
        math.add_op(op)
    return op


def buffers_accessed(block: Operation, stores: bool) -> list[SSAValue]:
    """The buffers block reads (or writes), in first-access order: what cache_read's (or
    cache_write's) index counts."""
    return list(dict.fromkeys(a.buffer for a in accesses(block) if a.is_store == stores))


def _nth_buffer(block: Operation, stores: bool, index: int, at: Operation, what: str) -> SSAValue:
    found = buffers_accessed(block, stores)
    if not 0 <= index < len(found):
        raise error_at(at, f"cannot {what}: '{label(block)}' {'writes' if stores else 'reads'} {len(found)} buffer(s), there is no #{index}")
    return found[index]


def _redirect(block: Operation, old: SSAValue, new: SSAValue) -> None:
    for a in accesses(block):
        if a.buffer is old:
            operands = list(a.op.operands)
            operands[1 if a.is_store else 0] = new
            a.op.operands = operands


def cache_read(state: ScheduleState, block: Operation, index: int, scope: str, at: Operation) -> Operation:
    what = f"cache-read for '{label(block)}'"
    buffer = _nth_buffer(block, False, index, at, what)
    top = top_level(block)
    if any(touches(b, buffer, stores_only=True) for b in [block, *blocks_under(top)]) or touches(top, buffer, stores_only=True):
        raise error_at(at, f"cannot {what}: the buffer is written inside the block's loop nest, so a copy made before it would be stale")
    math = IndexMath(anchor=top)
    cache = _alloc_like(math, buffer, scope)
    copy = _copy_nest(state, math, buffer, cache, state.fresh_label(f"{label(block)}_read{index}_{scope}", bare=True))
    _redirect(block, buffer, cache)
    return copy


def cache_write(state: ScheduleState, block: Operation, index: int, scope: str, at: Operation) -> Operation:
    what = f"cache-write for '{label(block)}'"
    buffer = _nth_buffer(block, True, index, at, what)
    kinds, domain = block.attr("iter_kinds"), block.attr("domain")
    spatial = [k for k, c in enumerate(kinds) if c != REDUCE]
    for a in accesses(block):
        if a.is_store and a.buffer is buffer:
            args = list(a.op.parent_block().args) if a.op.parent_op() is block else None
            if args is None or a.indices != [args[k] for k in spatial]:
                raise error_at(at, f"cannot {what}: every store of the buffer must be at the block's spatial iterators")
    if [domain[k] for k in spatial] != list(buffer.type.shape):
        raise error_at(at, f"cannot {what}: the block does not write the whole buffer, so copying it back would overwrite other elements")
    top = top_level(block)
    if any(touches(b, buffer) for b in blocks_under(top) if b is not block):
        raise error_at(at, f"cannot {what}: another block of its loop nest uses the buffer")
    reads_own_output = any(a.buffer is buffer and not a.is_store for a in accesses(block))
    initialised = any(a.buffer is buffer and a.is_store for a in accesses(block) if a.op.parent_block() is block.regions[0].block)
    if reads_own_output and not (REDUCE in kinds and initialised):
        raise error_at(at, f"cannot {what}: the block reads the buffer before writing it, and the cache would start empty")
    others = [w for w in writers(function_of(block), buffer) if w is not block]
    if others:
        raise error_at(at, f"cannot {what}: '{label(others[0]) if others[0].name == 'loop.block' else others[0].name}' writes the buffer too, and would not see the cache")
    cache = _alloc_like(IndexMath(anchor=top), buffer, scope)
    _redirect(block, buffer, cache)
    copy = _copy_nest(state, IndexMath(anchor=top.next_op), cache, buffer, state.fresh_label(f"{label(block)}_write{index}_{scope}", bare=True))
    return copy


@register("cache_read")
def _cache_read(r: Runner, op: Operation):
    return [BlockHandle(label(cache_read(r.state, r.block(op.operands[0], op), op.attr("index"), op.attr("scope"), op)))]


@register("cache_write")
def _cache_write(r: Runner, op: Operation):
    return [BlockHandle(label(cache_write(r.state, r.block(op.operands[0], op), op.attr("index"), op.attr("scope"), op)))]
