"""Vector code for a reduction loop marked `vectorize`: a row sum, max, min or product whose
input is contiguous along the loop (softmax's and layer norm's rows, a mean over the last axis).

    acc[4][lanes] = identity                     (stack vectors: registers after SROA)
    for i in [lower, wide_end) step 4 * lanes:   acc[k] = acc[k] (+) f(x[..., i + k lanes : ...]), k < 4
    for i in [wide_end, main_end) step lanes:    acc[0] = acc[0] (+) f(x[..., i : i + lanes])
    out[I] = out[I] (+) reduce(acc[0] (+) acc[1] (+) acc[2] (+) acc[3])   (a shuffle tree)
    for i in [main_end, upper):                  out[I] = out[I] (+) f(x[..., i])

The lanes accumulate interleaved partial results, so a float sum is reassociated (as onnxruntime
and every vectorizing BLAS do); max and min give the same result in any order. The alternative
the default schedule had, moving the reduction outside the last spatial loop to vectorize that
one, read the rows with a stride of a whole row: a gather per lane, which kept those loops scalar.

The loop's body is one `loop.block` (after index arithmetic) whose body updates one accumulator
`out[I] = combine(out[I], value)` with I independent of the loop; anything else, or a loop that
would need a reduce iterator's init guard inside the vector loop, keeps the scalar loop.
"""

from __future__ import annotations

import math

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects.device import Device
from lamina.dialects.loop import REDUCE
from lamina.ir.types import is_float
from lamina.lowering.vectorize import NotVectorizable, VectorBody, analyze, loop_lanes, max_stride_of, vector_loop

# Vectors of partial results: a vector add takes 3-4 cycles and two issue per cycle, so one
# accumulator would leave the loop waiting on its own chain.
PARTIALS = 4
COMBINES = {"arith.addf": ("add", -0.0), "arith.mulf": ("mul", 1.0), "arith.maximumf": ("max", -math.inf), "arith.minimumf": ("min", math.inf)}


def loop_block(loop: Operation) -> tuple[list[Operation], Operation] | None:
    """(the index arithmetic before it, the block) when loop's body is one `loop.block` after
    arith ops (what a split or compute_at leaves), else None."""
    body = [op for op in loop.regions[0].block.ops if op.name != "loop.yield"]
    if not body or body[-1].name != "loop.block" or any(not op.name.startswith("arith.") for op in body[:-1]):
        return None
    return body[:-1], body[-1]


class Accumulator:
    """The reduction a loop's block performs: `store(combine(load(out, I), value), out, I)`."""

    def __init__(self, loop: Operation):
        found = loop_block(loop)
        if found is None:
            raise NotVectorizable("the reduction loop's body is not one block")
        self.loop_ops, self.block = found
        block = self.block
        self.var = var = loop.regions[0].block.args[0]
        region = block.regions[1].block
        stores = [op for op in region.walk() if op.name == "loop.store"]
        if len(stores) != 1 or stores[0].parent_block() is not region:
            raise NotVectorizable("the block does not store once")
        self.store = store = stores[0]
        combine = store.operands[0].owner
        if not isinstance(combine, Operation) or combine.name not in COMBINES or not is_float(combine.results[0].type):
            raise NotVectorizable("the block does not update its accumulator by +, *, max or min")
        self.kind, self.identity = COMBINES[combine.name]
        self.combine = combine
        out, indices = store.operands[1], list(store.operands[2:])
        acc_loads = [o.owner for o in combine.operands if isinstance(o.owner, Operation) and o.owner.name == "loop.load"]
        acc_loads = [l for l in acc_loads if l.operands[0] is out and list(l.operands[1:]) == indices]
        if len(acc_loads) != 1 or len(list(acc_loads[0].results[0].uses)) != 1 or len(list(combine.results[0].uses)) != 1:
            raise NotVectorizable("the accumulator is read other than once, by its update")
        self.acc_load = acc_loads[0]
        self.value = next(o for o in combine.operands if o is not self.acc_load.results[0])
        if any(op.name == "loop.store" or (op.name == "loop.load" and op.operands[0] is out and op is not self.acc_load) for op in region.walk() if op is not store):
            raise NotVectorizable("the accumulator's buffer is accessed beside its update")
        init = block.regions[0].block
        self.init_ops = [op for op in init.ops if op.name != "loop.yield"]
        reduce_bindings = [b for b, k in zip(block.operands, block.attr("iter_kinds")) if k == REDUCE]
        if self.init_ops:
            # The init runs when every reduce iterator is zero: once, before the loop, when the
            # loop alone drives the one reduce iterator from zero (`lower` is checked by the caller).
            if reduce_bindings != [var] or any(a.uses for a, k in zip(init.args, block.attr("iter_kinds")) if k == REDUCE):
                raise NotVectorizable("the block's init depends on the vectorized reduction")

    def hoistable(self, value: SSAValue) -> bool:
        """value does not depend on the loop variable and needs only index arithmetic to recompute outside."""
        owner = value.owner
        if value is self.var:
            return False
        if isinstance(owner, Block):
            if owner in (self.block.regions[0].block, self.block.regions[1].block):
                return self.hoistable(self.block.operands[list(owner.args).index(value)])
            return True
        if owner in self.loop_ops or self.block.is_ancestor(owner):
            return owner.name.startswith("arith.") and not owner.regions and all(self.hoistable(o) for o in owner.operands)
        return True

    def hoist(self, value: SSAValue, em) -> SSAValue:
        owner = value.owner
        if isinstance(owner, Block):
            if owner in (self.block.regions[0].block, self.block.regions[1].block):
                return self.hoist(self.block.operands[list(owner.args).index(value)], em)
            return em.values[value]
        if owner in self.loop_ops or self.block.is_ancestor(owner):
            operands = {o: self.hoist(o, em) for o in owner.operands}
            clone = em.add(owner.clone(value_mapper=operands))
            return clone.results[list(owner.results).index(value)]
        return em.values[value]


class ReductionBody(VectorBody):
    """The vector loop's body: the accumulator update becomes acc = acc (+) value on the stack vector."""

    def __init__(self, lowerer, em, acc: Accumulator, partials: SSAValue, row: list[SSAValue], base, lanes, coef, varying):
        super().__init__(lowerer, em, acc.var, base, lanes, coef, varying)
        self.acc, self.partials, self.row = acc, partials, row

    def emit(self, op: Operation, em) -> None:
        if op is self.acc.acc_load or op is self.acc.store:
            return
        if op is self.acc.combine:
            partial = em.add(Device["vload"].build([self.partials, *self.row], {"lanes": self.lanes})).results[0]
            value = self.vector_of(self.acc.value, em)
            updated = em.add(op.__class__.create(operands=[partial, value], result_types=[partial.type], properties=dict(op.properties), attributes=dict(op.attributes)))
            em.add(Device["vstore"].build([updated.results[0], self.partials, *self.row], {}))
            return
        super().emit(op, em)

    def emit_loop_block(self, op: Operation, em) -> None:
        bind_and_emit_body(op, em, self.emit_block)


def bind_and_emit_body(block: Operation, em, emit_ops) -> None:
    """The block's body without its init (which the reduction ran before the loop)."""
    for region_block in (block.regions[0].block, block.regions[1].block):
        for a, b in zip(region_block.args, block.operands):
            em.values[a] = em.values[b]
    emit_ops(block.regions[1].block, em)


def try_vectorize_reduction(lowerer, op: Operation, em, lower: SSAValue, upper: SSAValue) -> bool:
    try:
        acc = Accumulator(op)
        if acc.init_ops and not _is_zero(op.operands[0]):
            raise NotVectorizable("the init runs at a reduce iterator of zero")
        coef: dict[SSAValue, int] = {acc.var: 1}
        varying: set[SSAValue] = set()
        sizes = analyze(acc.var, op.regions[0].block, coef, varying, max_stride_of(lowerer), accumulator=acc.store)
        if acc.value not in varying:
            raise NotVectorizable("the reduced value does not vary with the loop")
        needed = list(acc.store.operands[2:]) + [o for init_op in acc.init_ops for inner in init_op.walk() for o in inner.operands]
        if not all(acc.hoistable(v) for v in needed):
            raise NotVectorizable("the accumulator's indices depend on the loop")
    except NotVectorizable:
        return False
    lanes = loop_lanes(op, max(sizes))
    if lanes < 2:
        return False
    element = acc.combine.results[0].type
    if acc.init_ops:
        then = Block()
        em.add(Device["if"].build([em.add(arith.CmpiOp(lower, upper, "slt")).result], {}, regions=[Region(then)]))
        init_em = em.nested(then)
        init = acc.block.regions[0].block
        for a, binding in zip(init.args, acc.block.operands):
            if a.uses:
                init_em.values[a] = acc.hoist(binding, init_em)
        lowerer.emit_ops(init, init_em)
    partials = em.add(Device["alloca"].build([], {"shape": [PARTIALS, lanes], "element": element})).results[0]
    zero = em.index(0)
    rows = [em.index(k) for k in range(PARTIALS)]
    identity = em.add(arith.ConstantOp(FloatAttr(acc.identity, element))).result
    splat = em.add(Device["broadcast"].build([identity], {"lanes": lanes})).results[0]
    for row in rows:
        em.add(Device["vstore"].build([splat, partials, row, zero], {}))
    body = op.regions[0].block

    def emit_vectors(start: SSAValue, end: SSAValue, copies: int) -> SSAValue:
        """Whole groups of `copies` vectors of [start, end), copy k accumulating into partial
        row k: independent chains, so the adds overlap instead of waiting on each other."""

        def groups(inner, start_iv: SSAValue) -> None:
            for k in range(copies):
                iv = inner.addi(start_iv, inner.index(k * lanes))
                inner.values[acc.var] = iv
                ReductionBody(lowerer, em, acc, partials, [rows[k], zero], iv, lanes, coef, varying).emit_block(body, inner)

        return vector_loop(em, start, end, lanes * copies, groups)

    main_end = emit_vectors(emit_vectors(lower, upper, PARTIALS), upper, 1)
    folded = em.add(Device["vload"].build([partials, rows[0], zero], {"lanes": lanes})).results[0]
    for row in rows[1:]:
        part = em.add(Device["vload"].build([partials, row, zero], {"lanes": lanes})).results[0]
        folded = em.add(acc.combine.__class__.create(operands=[folded, part], result_types=[folded.type], properties=dict(acc.combine.properties), attributes=dict(acc.combine.attributes))).results[0]
    total = em.add(Device["vreduce"].build([folded], {"kind": acc.kind})).results[0]
    out = em.values[acc.store.operands[1]]
    indices = [acc.hoist(v, em) for v in acc.store.operands[2:]]
    current = em.add(Device["load"].build([out, *indices])).results[0]
    combined = em.add(acc.combine.__class__.create(operands=[current, total], result_types=[element], properties=dict(acc.combine.properties), attributes=dict(acc.combine.attributes)))
    em.add(Device["store"].build([combined.results[0], out, *indices], {}))

    def scalar_tail(scalar, iv: SSAValue) -> None:
        scalar.values[acc.var] = iv
        for loop_op in op.regions[0].block.ops:
            if loop_op is acc.block:
                bind_and_emit_body(loop_op, scalar, lambda b, e: lowerer.emit_ops(b, e))
            else:
                lowerer.emit(loop_op, scalar)

    em.loop(main_end, upper, 1, scalar_tail)
    return True


def _is_zero(value: SSAValue) -> bool:
    owner = value.owner
    return isinstance(owner, arith.ConstantOp) and owner.value.value.data == 0


__all__ = ["loop_block", "try_vectorize_reduction"]
