"""Facts about loop.block ops that the compute-location, inlining, caching and reduction
primitives check before rewriting: what a block writes, whether it writes a whole buffer at
its own iterators, who else touches a buffer, and where nests sit in the function."""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from lamina.dialects.loop import REDUCE
from lamina.ir.diagnostics import error_at
from lamina.passes.schedule.analysis import Access, accesses
from lamina.passes.schedule.nest import body_ops, function_of, is_block, static_value, top_level

# Ops a block body may hold for inlining: scalar math, loads and stores, no control flow.
SCALAR_DIALECTS = ("arith.", "math.")


def label(block: Operation) -> str:
    return block.attr("label")


def has_reduce(block: Operation) -> bool:
    return REDUCE in block.attr("iter_kinds")


def spatial_positions(block: Operation) -> list[int]:
    return [k for k, c in enumerate(block.attr("iter_kinds")) if c != REDUCE]


def stores_of(block: Operation) -> list[Access]:
    return [a for a in accesses(block) if a.is_store]


def loads_of(block: Operation) -> list[Access]:
    return [a for a in accesses(block) if not a.is_store]


def single_store(block: Operation, at: Operation, what: str) -> Access:
    """The one store of the block's body (its init may store the same buffer)."""
    stores = [a for a in stores_of(block) if a.op.parent_block() is block.regions[1].block]
    all_stores = stores_of(block)
    if len(stores) != 1 or any(a.buffer is not stores[0].buffer for a in all_stores):
        raise error_at(at, f"cannot {what} '{label(block)}': it must write exactly one buffer with one store in its body")
    return stores[0]


def writes_whole_buffer_at_iterators(block: Operation, store: Access) -> bool:
    """The store's indices are the block's spatial iterators in order and the spatial domain is
    the buffer's shape: the block writes every element exactly once per reduce point."""
    args = list(block.regions[1].block.args)
    spatial = spatial_positions(block)
    if [a for a in store.indices] != [args[k] for k in spatial]:
        return False
    domain = block.attr("domain")
    return [domain[k] for k in spatial] == list(store.buffer.type.shape)


def buffer_dims_of_iterators(block: Operation, store: Access) -> list[int] | None:
    """Like `writes_whole_buffer_at_iterators`, where the buffer may also have size-1 axes
    indexed by 0 (a reduction keeping its reduced axes): the buffer axis each spatial iterator
    indexes, in order, or None when the block does not write its whole buffer that way."""
    args = list(block.regions[1].block.args)
    spatial = spatial_positions(block)
    domain = block.attr("domain")
    dims: list[int] = []
    for axis, (index, size) in enumerate(zip(store.indices, store.buffer.type.shape)):
        k = len(dims)
        if k < len(spatial) and index is args[spatial[k]]:
            if domain[spatial[k]] != size:
                return None
            dims.append(axis)
        elif size != 1 or static_value(index) != 0:
            return None
    return dims if len(dims) == len(spatial) else None


def pure_body(block: Operation) -> bool:
    for op in body_ops(block, 1):
        if op.name in ("loop.load", "loop.store"):
            continue
        if not op.name.startswith(SCALAR_DIALECTS) or op.regions:
            return False
    return True


def is_intermediate(buffer: SSAValue) -> bool:
    return isinstance(buffer.owner, Operation) and buffer.owner.name == "loop.alloc"


def writers(fn: func.FuncOp, buffer: SSAValue) -> list[Operation]:
    """Blocks storing to buffer (a store outside any block counts as its own op), in order."""
    return _accessing_blocks(fn, buffer, store=True)


def readers(fn: func.FuncOp, buffer: SSAValue) -> list[Operation]:
    return _accessing_blocks(fn, buffer, store=False)


def _accessing_blocks(fn: func.FuncOp, buffer: SSAValue, store: bool) -> list[Operation]:
    """From the buffer's uses, not a walk of the function: the primitives ask this for every
    candidate block, and a walk per question made scheduling quadratic in the model's size.
    Uses outside fn (a transaction's backup copy) do not count; the blocks come in program order."""
    name, position = ("loop.store", 1) if store else ("loop.load", 0)
    found: dict[int, Operation] = {}
    for use in buffer.uses:
        op = use.operation
        if op.name == name and use.index == position:
            top = top_level(op)
            if top.parent_op() is fn:
                block = enclosing_block(op) or op
                found.setdefault(id(block), block)
    blocks = list(found.values())
    if len(blocks) < 2:
        return blocks
    order = {id(op): k for k, op in enumerate(o for top in dict.fromkeys(map(top_level, blocks)) for o in top.walk())}
    tops = {id(op): k for k, op in enumerate(fn.body.block.ops)}
    return sorted(blocks, key=lambda b: (tops[id(top_level(b))], order[id(b)]))


def enclosing_block(op: Operation) -> Operation | None:
    parent = op.parent_op()
    while parent is not None and not is_block(parent):
        parent = parent.parent_op()
    return parent


def nest_index(op: Operation) -> int:
    """Position of op's top-level nest in its function body."""
    top = top_level(op)
    return list(function_of(op).body.block.ops).index(top)


def nests_between(first: Operation, last: Operation) -> list[Operation]:
    """Top-level ops strictly between the nests of first and last."""
    ops = list(function_of(first).body.block.ops)
    a, b = nest_index(first), nest_index(last)
    return ops[a + 1 : b]


def touches(op: Operation, buffer: SSAValue, stores_only: bool = False) -> bool:
    return any(a.buffer is buffer and (a.is_store or not stores_only) for a in accesses(op))


def only_block_in_nest(block: Operation) -> bool:
    return [b for b in top_level(block).walk() if is_block(b)] == [block]


def values_from_outside(op: Operation) -> list[SSAValue]:
    """Values the ops inside op's regions use but op does not define."""
    out = []
    for inner in op.walk():
        if inner is op:
            continue
        for v in inner.operands:
            owner = v.owner
            node = owner if isinstance(owner, Operation) else owner.parent_op()
            if node is None or not op.is_ancestor(node) or (node is op and not isinstance(owner, Operation)):
                if node is op:
                    continue  # the op's own region arguments
                out.append(v)
    return out


def available_before(values: list[SSAValue], nest: Operation) -> SSAValue | None:
    """The first value not defined before the top-level op `nest` at function level (or as a
    function argument), or None when all are: where a block may move earlier."""
    fn = function_of(nest)
    order = {id(op): k for k, op in enumerate(fn.body.block.ops)}
    limit = order[id(nest)]
    for v in values:
        owner = v.owner
        if not isinstance(owner, Operation):
            if owner is fn.body.block:
                continue
            return v
        if owner.parent_op() is not fn or order[id(owner)] >= limit:
            return v
    return None
