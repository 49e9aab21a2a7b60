"""Queries and small edits on loop nests that every schedule primitive shares: enclosing loops,
blocks under a loop, perfect chains, index arithmetic inserted before an anchor op."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects.loop import Loop

INDEX = IndexType()


def is_loop(op: Operation | None) -> bool:
    return op is not None and op.name == "loop.for"


def is_block(op: Operation | None) -> bool:
    return op is not None and op.name == "loop.block"


def loop_var(loop: Operation) -> SSAValue:
    return loop.regions[0].block.args[0]


def body_ops(op: Operation, region: int = 0) -> list[Operation]:
    """The ops of a region's block, without its terminator."""
    return [o for o in op.regions[region].block.ops if o.name != "loop.yield"]


def enclosing_loops(op: Operation, stop: Operation | None = None) -> list[Operation]:
    """The loop.for ops around op, outermost first (up to, not including, `stop`)."""
    loops = []
    parent = op.parent_op()
    while parent is not None and parent is not stop and not isinstance(parent, func.FuncOp):
        if is_loop(parent):
            loops.append(parent)
        parent = parent.parent_op()
    return loops[::-1]


def top_level(op: Operation) -> Operation:
    """The ancestor of op that sits directly in its function's body."""
    while not isinstance(op.parent_op(), func.FuncOp):
        parent = op.parent_op()
        if parent is None:
            return op
        op = parent
    return op


def function_of(op: Operation) -> func.FuncOp:
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        parent = parent.parent_op()
    assert parent is not None
    return parent


def blocks_under(op: Operation) -> list[Operation]:
    return [o for o in op.walk() if is_block(o) and o is not op]


def loops_under(op: Operation) -> list[Operation]:
    return [o for o in op.walk() if is_loop(o) and o is not op]


def perfect_chain(outer: Operation, inner: Operation) -> list[Operation] | None:
    """The loops from outer down to inner when each one's body is exactly the next loop; None
    when inner is not reached that way."""
    chain = [outer]
    while chain[-1] is not inner:
        ops = body_ops(chain[-1])
        if len(ops) != 1 or not is_loop(ops[0]):
            return None
        chain.append(ops[0])
    return chain


def static_value(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def static_extent(loop: Operation) -> int | None:
    lo, hi = (static_value(v) for v in loop.operands)
    if lo is None or hi is None:
        return None
    return max(0, hi - lo)


def trip_count(loop: Operation) -> int | None:
    extent = static_extent(loop)
    if extent is None:
        return None
    step = loop.attr("step")
    return -(-extent // step)


def bound_anchor(loop: Operation) -> Operation:
    """Where to put index arithmetic for a loop's new bounds: before the loop's top-level nest
    when its bounds are function-level values (so the nest stays perfect), else right before
    the loop."""
    top = top_level(loop)
    for v in loop.operands:
        owner = v.owner
        parent = owner.parent_op() if isinstance(owner, Operation) else owner.parent_op()
        if not isinstance(parent, func.FuncOp):
            return loop
    return top


def _fold(v: SSAValue | int) -> SSAValue | int:
    if isinstance(v, int):
        return v
    value = static_value(v)
    return v if value is None else value


class IndexMath:
    """Index arithmetic inserted before an anchor op, folding constants as it goes."""

    def __init__(self, anchor: Operation | None = None, block: Block | None = None):
        self.anchor = anchor
        self.block = block

    def add_op(self, op: Operation) -> Operation:
        if self.anchor is not None:
            self.anchor.parent_block().insert_op_before(op, self.anchor)
        else:
            self.block.add_op(op)
        return op

    def const(self, value: int) -> SSAValue:
        return self.add_op(arith.ConstantOp(IntegerAttr(int(value), INDEX))).result

    def value(self, v: SSAValue | int) -> SSAValue:
        return self.const(v) if isinstance(v, int) else v

    def add(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        a, b = _fold(a), _fold(b)
        if isinstance(a, int) and isinstance(b, int):
            return a + b
        if b == 0:
            return a
        if a == 0:
            return b
        return self.add_op(arith.AddiOp(self.value(a), self.value(b))).result

    def sub(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        a, b = _fold(a), _fold(b)
        if isinstance(a, int) and isinstance(b, int):
            return a - b
        if b == 0:
            return a
        return self.add_op(arith.SubiOp(self.value(a), self.value(b))).result

    def mul(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        a, b = _fold(a), _fold(b)
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        if b == 1:
            return a
        if a == 1:
            return b
        return self.add_op(arith.MuliOp(self.value(a), self.value(b))).result

    def floordiv(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        a, b = _fold(a), _fold(b)
        if isinstance(a, int) and isinstance(b, int):
            return a // b
        if b == 1:
            return a
        return self.add_op(arith.FloorDivSIOp(self.value(a), self.value(b))).result

    def unsigned_div(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        """a / b for values known not to be negative (cheaper than floordiv)."""
        a, b = _fold(a), _fold(b)
        if isinstance(a, int) and isinstance(b, int):
            return a // b
        if b == 1:
            return a
        return self.add_op(arith.DivUIOp(self.value(a), self.value(b))).result

    def unsigned_min(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        a, b = _fold(a), _fold(b)
        if isinstance(a, int) and isinstance(b, int):
            return min(a, b)
        return self.add_op(arith.MinUIOp(self.value(a), self.value(b))).result

    def rem(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        a, b = _fold(a), _fold(b)
        if isinstance(a, int) and isinstance(b, int):
            return a % b
        return self.add_op(arith.RemSIOp(self.value(a), self.value(b))).result

    def ceildiv(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue | int:
        if isinstance(a, int) and isinstance(b, int):
            return -(-a // b)
        return self.floordiv(self.add(a, self.sub(b, 1)), b)

    def less(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue:
        return self.compare("slt", a, b)

    def compare(self, predicate: str, a: SSAValue | int, b: SSAValue | int) -> SSAValue:
        return self.add_op(arith.CmpiOp(self.value(a), self.value(b), predicate)).result

    def size(self, d) -> SSAValue:
        """The runtime value of a dimension (int or symbolic)."""
        if isinstance(d, int):
            return self.const(d)
        return self.add_op(Loop["size"].build([], {"value": str(d)})).results[0]

    def both(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.add_op(arith.AndIOp(a, b)).result


def suffix_labels(root: Operation, suffix: str) -> None:
    """Append `suffix` to the label of every loop and block in root (a copy of a nest: labels
    name one loop or block each)."""
    for op in root.walk():
        if op.name in ("loop.for", "loop.block") and op.attr("label"):
            op.properties["label"] = StringAttr(op.attr("label") + suffix)


def new_loop(lower: SSAValue, upper: SSAValue, label: str, kind: str, step: int = 1) -> Operation:
    body = Block(arg_types=[INDEX])
    return Loop["for"].build([lower, upper], {"kind": kind, "label": label, "step": step}, [], [Region(body)])


def new_if(cond: SSAValue) -> Operation:
    return Loop["if"].build([cond], {}, [], [Region(Block())])


def terminate(block: Block) -> None:
    block.add_op(Loop["yield"].build([], result_types=[]))


def move_body(src: Block, dst: Block) -> None:
    """Move every op but the terminator from src to the end of dst."""
    for op in list(src.ops):
        if op.name == "loop.yield":
            continue
        op.detach()
        dst.add_op(op)


def prune_empty_loops(block: Block | None) -> None:
    """Erase loops (and ifs) left with nothing in their body, walking outward."""
    while block is not None:
        owner = block.parent_op()
        if owner is None or owner.name not in ("loop.for", "loop.if"):
            return
        if any(op.name != "loop.yield" for op in block.ops):
            return
        parent = owner.parent_block()
        owner.detach()
        owner.erase()
        block = parent


INDEX_MATH = (arith.ConstantOp, arith.AddiOp, arith.SubiOp, arith.MuliOp, arith.FloorDivSIOp, arith.RemSIOp, arith.DivSIOp, arith.CmpiOp, arith.AndIOp)
_INDEX_MATH_TYPES = frozenset(INDEX_MATH)  # each with one result


def top_level_ops(block: Block) -> list[Operation]:
    """block's ops in order, following the op list directly (xDSL's block iterator costs a
    generator step per op, and this runs after every schedule primitive)."""
    out = []
    op = block.first_op
    while op is not None:
        out.append(op)
        op = op.next_op
    return out


def erase_unused_index_math(ops: Sequence[Operation]) -> None:
    """Erase pure index ops whose results lost all uses (bound arithmetic of removed loops),
    and then the ops only those fed: a worklist, so a large function is scanned once."""
    # Seeded with the unused ones only: this runs after every schedule primitive over every op
    # of the function's body, most of them constants in use.
    work = [op for op in ops if type(op) in _INDEX_MATH_TYPES and op.results[0].first_use is None]
    while work:
        op = work.pop()
        if op.parent is None or not isinstance(op, INDEX_MATH) or any(r.uses for r in op.results):
            continue
        feeders = [o.owner for o in op.operands if isinstance(o.owner, Operation)]
        op.detach()
        op.erase()
        work.extend(feeders)
