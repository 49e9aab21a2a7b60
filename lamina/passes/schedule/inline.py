"""compute_inline and reverse_compute_inline (TVM semantics).

compute_inline: a spatial producer `B[v...] = f(v...)` disappears; every load of B becomes f at
the load's indices. reverse_compute_inline: a spatial consumer `D[g(v)] = h(B[π(v)], ...)`
disappears into the store of B's single producer, which then writes D directly.
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from lamina.ir.diagnostics import error_at
from lamina.passes.schedule.blocks import (
    available_before,
    values_from_outside,
    has_reduce,
    is_intermediate,
    label,
    loads_of,
    nest_index,
    nests_between,
    only_block_in_nest,
    pure_body,
    readers,
    single_store,
    touches,
    writers,
    writes_whole_buffer_at_iterators,
)
from lamina.passes.schedule.nest import body_ops, function_of, prune_empty_loops, top_level
from lamina.passes.schedule.primitives import Runner, register


def _remove_block(block: Operation) -> None:
    parent = block.parent_block()
    block.detach()
    block.erase()
    prune_empty_loops(parent)


def _erase_alloc_if_unused(buffer: SSAValue) -> None:
    if not buffer.uses and is_intermediate(buffer):
        alloc = buffer.owner
        alloc.detach()
        alloc.erase()


def _check_spatial(block: Operation, at: Operation, what: str) -> None:
    if has_reduce(block) or body_ops(block, 0):
        raise error_at(at, f"cannot {what} '{label(block)}': it is a reduction block (it has reduce iterators or an init)")
    if not pure_body(block):
        raise error_at(at, f"cannot {what} '{label(block)}': its body holds more than loads, one store and scalar math")


def compute_inline(block: Operation, at: Operation) -> None:
    what = "inline"
    _check_spatial(block, at, what)
    store = single_store(block, at, what)
    buffer = store.buffer
    fn = function_of(block)
    if not is_intermediate(buffer):
        raise error_at(at, f"cannot inline '{label(block)}': it writes a function argument, not an intermediate buffer")
    if not writes_whole_buffer_at_iterators(block, store):
        raise error_at(at, f"cannot inline '{label(block)}': its store is not at its iterators over the whole buffer")
    if writers(fn, buffer) != [block]:
        raise error_at(at, f"cannot inline '{label(block)}': another block writes the same buffer")
    if any(a.buffer is buffer for a in loads_of(block)):
        raise error_at(at, f"cannot inline '{label(block)}': it reads the buffer it writes")
    position = nest_index(block)
    for read in {a.buffer for a in loads_of(block)}:
        for w in writers(fn, read):
            if nest_index(w) >= position:
                raise error_at(at, f"cannot inline '{label(block)}': a buffer it reads is written after it ('{_name(w)}')")
    consumers = [a for a in _all_loads(fn) if a.buffer is buffer]
    for load in consumers:
        if top_level(load.op) is top_level(block):
            raise error_at(at, f"cannot inline '{label(block)}': a consumer shares its loop nest")
    args = list(block.regions[1].block.args)
    ops = [op for op in body_ops(block, 1) if op is not store.op]
    stored = store.op.operands[0]
    for load in consumers:
        mapping: dict[SSAValue, SSAValue] = dict(zip(args, load.indices))
        for op in ops:
            clone = op.clone(value_mapper=mapping)
            load.op.parent_block().insert_op_before(clone, load.op)
            mapping.update(zip(op.results, clone.results))
        load.op.results[0].replace_all_uses_with(mapping.get(stored, stored))
        load.op.detach()
        load.op.erase()
    _remove_block(block)
    _erase_alloc_if_unused(buffer)


def _all_loads(fn):
    return [a for a in loads_of(fn)]


def _name(op: Operation) -> str:
    return op.attr("label") if op.name == "loop.block" else op.name


def reverse_compute_inline(block: Operation, at: Operation) -> None:
    what = "reverse-inline"
    _check_spatial(block, at, what)
    out = single_store(block, at, what)
    fn = function_of(block)
    produced = [b for b in dict.fromkeys(a.buffer for a in loads_of(block)) if any(w is not block for w in writers(fn, b))]
    if len(produced) != 1:
        raise error_at(at, f"cannot reverse-inline '{label(block)}': it must read exactly one buffer written by another block, it reads {len(produced)}")
    (buffer,) = produced
    (producer,) = writers(fn, buffer) if len(writers(fn, buffer)) == 1 else (None,)
    if producer is None or producer.name != "loop.block":
        raise error_at(at, f"cannot reverse-inline '{label(block)}': the buffer it reads has more than one producer")
    if has_reduce(producer) or body_ops(producer, 0):
        raise error_at(at, f"cannot reverse-inline '{label(block)}': its producer '{label(producer)}' is a reduction block")
    if not pure_body(producer):
        raise error_at(at, f"cannot reverse-inline '{label(block)}': the body of its producer '{label(producer)}' is not straight-line")
    p_store = single_store(producer, at, what)
    if not is_intermediate(buffer) or not writes_whole_buffer_at_iterators(producer, p_store):
        raise error_at(at, f"cannot reverse-inline '{label(block)}': its producer must write a whole intermediate buffer at its iterators")
    if readers(fn, buffer) != [block]:
        raise error_at(at, f"cannot reverse-inline '{label(block)}': another block reads the same buffer")
    args = list(block.regions[1].block.args)
    loads = [a for a in loads_of(block) if a.buffer is buffer]
    index = loads[0].indices
    if any(a.indices != index for a in loads) or sorted(map(id, index)) != sorted(map(id, args)) or len(index) != len(args):
        raise error_at(at, f"cannot reverse-inline '{label(block)}': it must read its producer's buffer at a permutation of all its iterators")
    domain = block.attr("domain")
    shape = list(buffer.type.shape)
    if [domain[args.index(v)] for v in index] != shape:
        raise error_at(at, f"cannot reverse-inline '{label(block)}': its domain does not match the buffer it reads")
    if not only_block_in_nest(block):
        raise error_at(at, f"cannot reverse-inline '{label(block)}': its loop nest holds other blocks")
    if nest_index(producer) >= nest_index(block):
        raise error_at(at, f"cannot reverse-inline '{label(block)}': its producer must be in an earlier loop nest")
    for between in [*nests_between(producer, block), top_level(producer)]:
        if touches(between, out.buffer) and between is not top_level(block):
            raise error_at(at, f"cannot reverse-inline '{label(block)}': the buffer it writes is used between its producer and it")
        for read in {a.buffer for a in loads_of(block)} - {buffer}:
            if touches(between, read, stores_only=True):
                raise error_at(at, f"cannot reverse-inline '{label(block)}': a buffer it reads is written between its producer and it")
    if available_before(values_from_outside(block), top_level(producer)) is not None:
        raise error_at(at, f"cannot reverse-inline '{label(block)}': it uses a value defined after its producer's loop nest")
    # The consumer's iterator at B's dim d is the producer's store index d.
    mapping: dict[SSAValue, SSAValue] = {v: p_store.indices[d] for d, v in enumerate(index)}
    stored = p_store.op.operands[0]
    for op in body_ops(block, 1):
        if op.name == "loop.load" and op.operands[0] is buffer:
            mapping[op.results[0]] = stored
            continue
        clone = op.clone(value_mapper=mapping)
        p_store.op.parent_block().insert_op_before(clone, p_store.op)
        mapping.update(zip(op.results, clone.results))
    p_store.op.detach()
    p_store.op.erase()
    _remove_block(block)
    _erase_alloc_if_unused(buffer)


@register("compute_inline")
def _compute_inline(r: Runner, op: Operation):
    compute_inline(r.block(op.operands[0], op), op)
    return []


@register("reverse_compute_inline")
def _reverse_compute_inline(r: Runner, op: Operation):
    reverse_compute_inline(r.block(op.operands[0], op), op)
    return []
