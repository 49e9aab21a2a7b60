"""Elementwise fusion: chains and trees of elementwise ops become one loop nest (TVM's
injective fusion), with compute-inline.

An exporter's GELU is five ops (`x * 0.5`, `x / sqrt 2`, `erf`, `+ 1`, `*`), each its own nest
and one more pass over memory. An elementwise block whose buffer only elementwise blocks read
is inlined into them (compute-inline: every load of its buffer becomes its body), so the five
merge into the last one, which then reads only `x`. Run before the register tiles, the merged
block is the single reader of a contraction's output and epilogue fusion moves it into the
tile.

A producer is inlined only where that computes each element once per use: the readers load
its buffer at a permutation of their own iterators over a domain of the buffer's size (no
broadcast), and a producer with transcendental math (exp, erf, tanh) must have a single load
reading it, so an expensive op is never computed twice. A pure copy (a slice, a split, a
transpose, a broadcast: one load stored as it is) computes nothing, so it is inlined into any
elementwise reader however that indexes it: the reader then loads the copy's source, and the
transformer's Split no longer writes q, k and v before their transposes read them.
"""

from __future__ import annotations

from xdsl.ir import Operation

from lamina.dialects.loop import REDUCE
from lamina.ir.diagnostics import LaminaError
from lamina.passes.schedule.blocks import is_intermediate, loads_of, only_block_in_nest, readers, stores_of
from lamina.passes.schedule.nest import body_ops, is_block
from lamina.schedule import Schedule

# A producer of more ops than this is copied into at most one load.
CHEAP_OPS = 8


def only_block(nest: Operation) -> Operation | None:
    """The nest's block when it holds exactly one."""
    blocks = [op for op in nest.walk() if is_block(op)]
    return blocks[0] if len(blocks) == 1 else None


def _elementwise(block: Operation) -> bool:
    return REDUCE not in block.attr("iter_kinds") and not body_ops(block, 0)


def _reads_each_element_once(reader: Operation, buffer) -> list | None:
    """The reader's loads of `buffer`, when each is at a permutation of all its iterators
    ranging over the buffer's dims (an elementwise read or a transpose, no broadcast); None
    otherwise."""
    args = list(reader.regions[1].block.args)
    domain = list(reader.attr("domain"))
    shape = list(buffer.type.shape)
    loads = [a for a in loads_of(reader) if a.buffer is buffer]
    for load in loads:
        if len(load.indices) != len(args) or {id(v) for v in load.indices} != {id(a) for a in args}:
            return None
        if [domain[args.index(v)] for v in load.indices] != shape:
            return None
    return loads


INDEX_ARITH = ("arith.constant", "arith.addi", "arith.subi", "arith.muli", "arith.floordivsi", "arith.divsi", "arith.remsi")


def is_pure_copy(block: Operation) -> bool:
    """One load, stored unchanged, at indices of plain index arithmetic (no guard, no clamp)."""
    body = body_ops(block, 1)
    loads = [op for op in body if op.name == "loop.load"]
    stores = [op for op in body if op.name == "loop.store"]
    if len(loads) != 1 or len(stores) != 1 or stores[0].operands[0] is not loads[0].results[0]:
        return False
    return all(op.name in INDEX_ARITH for op in body if op not in (loads[0], stores[0]))


def guarded(block: Operation) -> bool:
    """A block that selects between a load and a fill (a pad): absorb-pads turns it into its
    border when what it reads is a buffer a nest writes, and a copy inlined into it would hide
    that buffer (the slice of a conv's widened rows, which the conv's tile takes as its epilogue)."""
    return any(op.name == "arith.select" for op in body_ops(block, 1))


def inlinable(fn, block: Operation) -> bool:
    if not _elementwise(block):
        return False
    stores = stores_of(block)
    if len(stores) != 1 or not is_intermediate(stores[0].buffer):
        return False
    buffer = stores[0].buffer
    consumers = readers(fn, buffer)
    if not consumers:
        return False
    copy = is_pure_copy(block)
    loads = 0
    for reader in consumers:
        if reader is block or not _elementwise(reader) or not only_block_in_nest(reader):
            return False
        if copy and not guarded(reader):
            continue
        found = _reads_each_element_once(reader, buffer)
        if found is None:
            return False
        loads += len(found)
    body = body_ops(block, 1)
    costly = any(op.name.startswith("math.") for op in body) or len(body) > CHEAP_OPS
    return copy or loads == 1 or not costly


def fuse_elementwise(sch: Schedule) -> int:
    """Inline elementwise producers into their elementwise readers until none is left;
    returns how many were inlined."""
    inlined = 0
    changed = True
    while changed:
        changed = False
        for nest in [op for op in sch.func.body.block.ops if op.name == "loop.for"]:
            block = only_block(nest)
            if block is None or not inlinable(sch.func, block):
                continue
            try:
                with sch.without_copies():  # compute-inline checks everything before rewriting
                    sch.compute_inline(sch.get_block(block.attr("label")))
            except LaminaError:
                continue
            inlined += 1
            changed = True
    return inlined


__all__ = ["fuse_elementwise", "inlinable", "only_block"]
