"""Building loop-dialect IR from Python: an insertion point plus one method per construct, so
the lowering (and tests, and schedule primitives) read like the loop nest they make.

    b = LoopBuilder(block)
    with b.loop(b.index(0), n, kind="parallel", label="i") as i:
        init, body = b.block("matmul", [i, k], "SR", [4, 8])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr, IntegerType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from lamina.dialects.loop import Loop
from lamina.ir.diagnostics import SourceLocation
from lamina.ir.dims import Dim
from lamina.ir.types import BufferType, is_bool, is_float, is_unsigned

INDEX = IndexType()


class LoopBuilder:
    def __init__(self, block: Block, location: SourceLocation | None = None):
        self.insertion = block
        self.location = location

    def add(self, op: Operation) -> Operation:
        if self.location is not None and op.location is None:
            op.location = self.location.to_attr()
        self.insertion.add_op(op)
        return op

    @contextmanager
    def at(self, block: Block) -> Iterator[Block]:
        saved, self.insertion = self.insertion, block
        try:
            yield block
        finally:
            self.insertion = saved

    # -- values

    def index(self, value: int) -> SSAValue:
        return self.add(arith.ConstantOp(IntegerAttr(int(value), INDEX))).result

    def constant(self, value, t: Attribute) -> SSAValue:
        if is_float(t):
            attr = FloatAttr(float(value), t)
        elif is_bool(t):
            attr = IntegerAttr(1 if value else 0, t)
        elif is_unsigned(t):
            # arith.constant takes signless integers: the same bits, then a bitcast.
            bits = t.width.data
            signless = IntegerType(bits)
            wrapped = int(value) % 2**bits
            wrapped -= 2**bits if wrapped >= 2 ** (bits - 1) else 0
            c = self.add(arith.ConstantOp(IntegerAttr(wrapped, signless))).result
            return self.add(arith.BitcastOp(c, t)).result
        else:
            attr = IntegerAttr(int(value), t)
        return self.add(arith.ConstantOp(attr)).result

    def size(self, d: Dim) -> SSAValue:
        """The runtime value of a dimension: a constant, or loop.size of its expression."""
        if isinstance(d, int):
            return self.index(d)
        return self.add(Loop["size"].build([], {"value": str(d)})).results[0]

    # -- buffers

    def alloc(self, t: BufferType, scope: str = "global") -> SSAValue:
        sizes = [self.size(d) for d in t.shape if not isinstance(d, int)]
        return self.add(Loop["alloc"].build(sizes, {"scope": scope}, [t])).results[0]

    def load(self, buffer: SSAValue, indices: Sequence[SSAValue]) -> SSAValue:
        return self.add(Loop["load"].build([buffer, *indices])).results[0]

    def store(self, value: SSAValue, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
        self.add(Loop["store"].build([value, buffer, *indices], result_types=[]))

    # -- structure

    @contextmanager
    def loop(self, lower: SSAValue, upper: SSAValue, kind: str = "serial", label: str = "", step: int = 1) -> Iterator[SSAValue]:
        body = Block(arg_types=[INDEX])
        self.add(Loop["for"].build([lower, upper], {"kind": kind, "label": label, "step": step}, [], [Region(body)]))
        with self.at(body):
            yield body.args[0]
            self.add(Loop["yield"].build([], result_types=[]))

    def block(self, label: str, bindings: Sequence[SSAValue], iter_kinds: str, domain: Sequence[Dim]) -> tuple[Block, Block]:
        """A loop.block; returns its (init, body) blocks, both taking the iterator values. The
        caller fills them and ends each with `finish(block)`."""
        init = Block(arg_types=[INDEX] * len(bindings))
        body = Block(arg_types=[INDEX] * len(bindings))
        attrs = {"label": label, "iter_kinds": iter_kinds, "domain": list(domain)}
        self.add(Loop["block"].build(list(bindings), attrs, [], [Region(init), Region(body)]))
        return init, body

    def finish(self, block: Block) -> None:
        with self.at(block):
            self.add(Loop["yield"].build([], result_types=[]))
