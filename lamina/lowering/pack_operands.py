"""Panel packing of a constant contraction operand, at compile time.

A register tile streams the vector operand `B[k, j]` along k, NR lanes of j at a time. In B's
own layout consecutive k are a whole row apart — for power-of-two widths a multiple of 4 KiB, so
every row lands in the same few L1 sets and the panel thrashes. When B is a constant (a weight),
it is repacked once, at compile time, into panels `Bp[j / NR, k, j % NR]`: each panel is one
contiguous stream.

The block's iterator j becomes two iterators (jo, ji) bound to the tile's split loops, so the
packed access is affine — the vectorizer loads `Bp[jo, k, ji : ji + lanes]` contiguously. The
vector axis may be any axis of the constant: a conv tiled along its output channels packs its
weights `W[o, c, ky, kx]` as `Wp[o / NR, c, ky, kx, o % NR]`.

A cache-blocked GEMM also packs its row operand, at run time: a tile reads MR rows of `A[i, k]`
at each k, MR separate streams a whole row apart. In a C model of the blocked loops (2048^3, one
thread, beside numpy) that ran at ~50 GFLOP/s and at ~65 once each tile's rows were one stream;
lamina's tile went from 50 to 70 (with the blocks of register_tiling). `pack_row_operand` gives
the copy that cache-read makes the layout `Ap[i / MR, k, i % MR]`.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects.loop import SPATIAL, Loop
from lamina.ir.dense import DenseElementsAttr
from lamina.ir.types import BufferType

INDEX = IndexType()


def _split_binding(value: SSAValue, nr: int) -> tuple[SSAValue, SSAValue] | None:
    """(outer, inner) when value = outer * nr + inner, as split writes a binding."""
    add = value.owner
    if not isinstance(add, arith.AddiOp):
        return None
    for scaled, inner in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
        mul = scaled.owner
        if isinstance(mul, arith.MuliOp):
            for outer, factor in ((mul.lhs, mul.rhs), (mul.rhs, mul.lhs)):
                c = factor.owner
                if isinstance(c, arith.ConstantOp) and isinstance(c.value, IntegerAttr) and c.value.value.data == nr:
                    return outer, inner
    return None


def packable_load(block: Operation, vector: int) -> tuple[Operation, int] | None:
    """The load of a constant of two or more dimensions (a bias is not worth packing) indexed
    by the bare vector iterator in one position, the axis the vectors run along, and by values
    independent of it elsewhere; with that position."""
    body = block.regions[1].block
    v_arg = body.args[vector]
    for op in body.ops:
        if op.name != "loop.load" or len(op.operands) < 3:
            continue
        buffer, indices = op.operands[0], list(op.operands[1:])
        if not isinstance(buffer.owner, Operation) or buffer.owner.name != "loop.const" or v_arg not in indices:
            continue
        axis = indices.index(v_arg)
        if any(depends_on(ix, v_arg) for k, ix in enumerate(indices) if k != axis):
            continue
        return op, axis
    return None


def depends_on(value: SSAValue, arg: SSAValue) -> bool:
    """Whether an index value computed in a block body (arith ops) depends on `arg`."""
    if value is arg:
        return True
    owner = value.owner
    return isinstance(owner, Operation) and owner.name.startswith("arith.") and any(depends_on(o, arg) for o in owner.operands)


def pack_vector_operand(block: Operation, vector: int, nr: int) -> bool:
    """Repack the constant the block streams along its vector iterator into NR-wide panels
    (`W[..., j, ...]` becomes `Wp[j / NR, ..., j % NR]`); False (and nothing changed) when the
    block has no such load or j is not split by NR."""
    found = packable_load(block, vector)
    if found is None:
        return False
    load, axis = found
    const = load.operands[0].owner
    array = const.attr("value")
    j_extent = array.shape[axis]
    split = _split_binding(block.operands[vector], nr)
    if split is None or j_extent % nr or block.attr("domain")[vector] != j_extent:
        return False
    rest = np.moveaxis(array, axis, -1)
    panels_first = np.moveaxis(rest.reshape(*rest.shape[:-1], j_extent // nr, nr), -2, 0)
    panels = Loop["const"].build([], {"value": DenseElementsAttr.from_array(np.ascontiguousarray(panels_first))})
    const.parent_block().insert_op_after(panels, const)
    body = _split_iterator(block, vector, nr, split).regions[1].block
    outer, inner = body.args[vector], body.args[vector + 1]
    others = [ix for k, ix in enumerate(load.operands[1:]) if k != axis]
    packed_load = Loop["load"].build([panels.results[0], outer, *others, inner])
    body.insert_op_before(packed_load, load)
    load.results[0].replace_all_uses_with(packed_load.results[0])
    load.detach()
    load.erase()
    return True


def _split_iterator(block: Operation, vector: int, nr: int, split: tuple[SSAValue, SSAValue]) -> Operation:
    """Iterator `vector` of block becomes (outer, inner) with domain (J / nr, nr); the body
    recomputes the old iterator as outer * nr + inner for its other uses."""
    kinds = block.attr("iter_kinds")
    domain = list(block.attr("domain"))
    new_kinds = kinds[:vector] + SPATIAL + kinds[vector:]
    new_domain = domain[:vector] + [domain[vector] // nr, nr] + domain[vector + 1 :]
    bindings = list(block.operands)
    bindings[vector : vector + 1] = list(split)
    regions = []
    for region in block.regions:
        old = region.block
        new = Block(arg_types=[INDEX] * len(bindings))
        mapping = list(new.args[:vector]) + [None] + list(new.args[vector + 2 :])
        if old.args[vector].uses:
            factor = arith.ConstantOp(IntegerAttr(nr, INDEX))
            scaled = arith.MuliOp(new.args[vector], factor.result)
            joined = arith.AddiOp(scaled.result, new.args[vector + 1])
            new.add_ops([factor, scaled, joined])
            mapping[vector] = joined.result
        for arg, replacement in zip(old.args, mapping):
            if replacement is not None:
                arg.replace_all_uses_with(replacement)
        for op in list(old.ops):
            op.detach()
            new.add_op(op)
        regions.append(Region(new))
    replacement = Loop["block"].build(
        bindings, {"label": block.attr("label"), "iter_kinds": new_kinds, "domain": new_domain}, [], regions
    )
    block.parent_block().insert_op_before(replacement, block)
    block.detach()
    block.erase()
    return replacement


def row_operand_load(block: Operation, rows: int) -> tuple[Operation, int] | None:
    """The load of the operand a tile broadcasts along its rows (matmul's `A[i, k]`): indexed by
    the bare rows iterator in one position, by values independent of it elsewhere, of a buffer
    the block does not write; with that position."""
    body = block.regions[1].block
    i_arg = body.args[rows]
    written = {op.operands[1] for op in body.ops if op.name == "loop.store"}
    for op in body.ops:
        if op.name != "loop.load" or op.operands[0] in written:
            continue
        indices = list(op.operands[1:])
        if indices.count(i_arg) != 1 or any(depends_on(ix, i_arg) for ix in indices if ix is not i_arg):
            continue
        return op, indices.index(i_arg)
    return None


def pack_row_operand(copy: Operation, load: Operation, axis: int, mr: int) -> None:
    """Give the buffer `load` reads, which the block `copy` fills element by element (a
    cache-read), the layout `[rows / mr, other axes..., rows % mr]`: both the copy's store and
    the load index it that way. The rows axis must be static."""
    cache = load.operands[0]
    alloc = cache.owner
    shape = list(cache.type.shape)
    packed_shape = [-(-shape[axis] // mr)] + [d for k, d in enumerate(shape) if k != axis] + [mr]
    packed = Loop["alloc"].build(list(alloc.operands), {"scope": alloc.attr("scope")}, [BufferType.of(packed_shape, cache.type.element_type)])
    alloc.parent_block().insert_op_before(packed, alloc)
    cache.replace_all_uses_with(packed.results[0])
    alloc.detach()
    alloc.erase()
    stores = [op for op in copy.regions[1].block.ops if op.name == "loop.store"]
    for access, first in [(stores[0], 2), (load, 1)]:
        indices = list(access.operands[first:])
        factor = arith.ConstantOp(IntegerAttr(mr, INDEX))
        tile = arith.DivUIOp(indices[axis], factor.result)
        row = arith.RemUIOp(indices[axis], factor.result)
        access.parent_block().insert_ops_before([factor, tile, row], access)
        others = [ix for k, ix in enumerate(indices) if k != axis]
        access.operands = [*access.operands[:first], tile.result, *others, row.result]


__all__ = ["depends_on", "pack_row_operand", "pack_vector_operand", "packable_load", "row_operand_load"]
