"""Epilogue fusion: the elementwise ops after a contraction run inside its register tile.

After `conv2d` (or `matmul`) come a slice of the widened rows, the bias add, a ReLU, a residual
add: each its own loop nest, each one more pass over the output in memory. With the schedule
primitives, TVM's way:

1. the chain of single-reader elementwise consumers merges into its first block
   (reverse-compute-inline: `relu(add(x, b))` becomes one block);
2. that block moves under the tile's innermost spatial loop (reverse-compute-at), so it reads
   each tile of the output while the tile is still in cache.

A consumer the primitives refuse (it reads two produced buffers, its producer has other
readers) stays a nest of its own.
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from lamina.dialects.loop import REDUCE
from lamina.ir.diagnostics import LaminaError
from lamina.passes.schedule.blocks import enclosing_block, is_intermediate, only_block_in_nest
from lamina.schedule import LoopRV, Schedule

# A chain longer than this is an unusual graph; the merge stops there, correct either way.
MAX_CHAIN = 8


def _output(block: Operation) -> SSAValue | None:
    stores = [op for op in block.regions[1].block.ops if op.name == "loop.store"]
    return stores[0].operands[1] if len(stores) == 1 else None


def sole_reader(buffer: SSAValue, producer: Operation) -> Operation | None:
    """The one block other than `producer` that loads `buffer`, if it is elementwise: no reduce
    iterators, alone in its nest, reading `buffer` at its iterators in order."""
    readers = []
    for use in buffer.uses:
        op = use.operation
        if op.name == "loop.store" and use.index == 1:
            continue
        block = enclosing_block(op)
        if block is None:
            return None
        if block is not producer and block not in readers:
            readers.append(block)
    if len(readers) != 1:
        return None
    (reader,) = readers
    if REDUCE in reader.attr("iter_kinds") or not only_block_in_nest(reader):
        return None
    args = list(reader.regions[1].block.args)
    loads = [op for op in reader.regions[1].block.walk() if op.name == "loop.load" and op.operands[0] is buffer]
    if not loads or any(list(op.operands[1:]) != args for op in loads):
        return None
    return reader


def fuse_epilogue(sch: Schedule, block_label: str, anchor: LoopRV, lanes: int | None = None) -> list[str]:
    """Merge the elementwise chain after the block labelled `block_label` and compute it under
    `anchor`, vectorized in the tile's `lanes` (None: the target's widest); returns the labels
    of the blocks now inside the tile."""
    producer = sch.runner.state.block_named(block_label, sch.sequence)
    out = _output(producer)
    if out is None:
        return []
    # An output buffer of the function may be read too: a bias add then runs in place on it.
    head = sole_reader(out, producer)
    if head is None:
        return []
    head_label = head.attr("label")
    for _ in range(MAX_CHAIN):
        head = sch.runner.state.block_named(head_label, sch.sequence)
        result = _output(head)
        nxt = sole_reader(result, head) if result is not None and is_intermediate(result) else None
        if nxt is None:
            break
        try:
            sch.reverse_compute_inline(sch.get_block(nxt.attr("label")))
        except LaminaError:
            break
    try:
        sch.reverse_compute_at(sch.get_block(head_label), anchor)
    except LaminaError:
        return []
    loops = sch.get_loops(sch.get_block(head_label))
    if loops:
        try:
            sch.vectorize(loops[-1], lanes)
        except LaminaError:
            pass  # the epilogue stays scalar; it is still computed inside the tile
    return [head_label]


__all__ = ["fuse_epilogue", "sole_reader"]
