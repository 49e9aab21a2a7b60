"""Vector code for a `loop.for {vectorize}`: the loop runs by whole vectors of the target's width
and a scalar loop finishes the remainder.

Inside the body, a value either varies with the loop variable or is uniform. Index values are
tracked as `var*coef + uniform`; a load whose last index is `var + uniform` (and other indices
uniform) becomes a vector load, a load with no varying index a scalar load broadcast on use; a
store must be contiguous the same way. A varying index divided by a constant (a reshape's
`f floordiv C`, `f - q*C`) is uniform, and its remainder varies with the loop, when no vector
straddles a multiple of C: the lanes divide C and the index's first-lane value. Arith/math
ops with a varying operand become vector ops. Anything else (a gather, a store that does not
move with the loop, a nested loop) keeps the loop scalar, where LLVM's own vectorizer still
gets its chance. A reduction loop goes to `lamina.lowering.vector_reduction`.
"""

from __future__ import annotations

from math import gcd

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IndexType, VectorType
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects.device import Device
from lamina.dialects.loop import REDUCE
from lamina.ir.types import numpy_dtype
from lamina.lowering.device_emitter import emit_index_arith
from lamina.targets.host import host_target



# xDSL's definitions of these accept scalars only (comparisons yield i1, casts and select's
# condition are scalar); loops using them stay scalar for LLVM's vectorizer.
SCALAR_ONLY = ("arith.cmpf", "arith.cmpi", "arith.select", "arith.index_cast", "arith.bitcast", "math.ipowi")
SCALAR_ONLY_SUFFIXES = ("tofp", "tosi", "toui", ".extf", ".truncf", ".extsi", ".extui", ".trunci")


class NotVectorizable(Exception):
    pass


# Index ops that divide by a constant: `floordiv(x, C)` is the same in every lane and `x rem C`
# steps with it when no vector straddles a multiple of C (see `divisions_stay_in_blocks`).
# Truncating signed division and remainder are left out: they change blocks at zero.
QUOTIENTS = ("arith.floordivsi", "arith.divui")
REMAINDERS = ("arith.remui",)


def _body_ops(block: Block):
    for op in block.ops:
        if op.name == "loop.yield":
            continue
        yield op


def analyze(
    var: SSAValue,
    block: Block,
    coef: dict[SSAValue, int],
    varying: set[SSAValue],
    max_stride: int = 1,
    accumulator: Operation | None = None,
    divisions: list[tuple[SSAValue, int]] | None = None,
) -> list[int]:
    """Check every op; returns the element sizes of the vector values so lanes can be chosen.
    Loads may step by up to `max_stride` elements per lane (what the target emits). With an
    `accumulator` (the store of a reduction the loop runs, see lamina.lowering.vector_reduction)
    the loop may drive reduce iterators, and that store is left to the caller. With a
    `divisions` list, a varying index divided by a constant is accepted and recorded there as
    (dividend, divisor), for the caller to check once it knows the lanes."""
    sizes: list[int] = []
    for op in _body_ops(block):
        if op is accumulator:
            continue
        name = op.name
        ins = list(op.operands)
        if name in QUOTIENTS + REMAINDERS and isinstance(op.results[0].type, IndexType) and coef.get(ins[0], 0):
            divisor = _index_constant(ins[1])
            if divisions is None or coef[ins[0]] != 1 or ins[1] in coef or divisor is None or divisor <= 0:
                raise NotVectorizable(f"varying index divided by {name}")
            divisions.append((ins[0], divisor))
            if name in REMAINDERS:
                coef[op.results[0]] = 1
            continue
        if name in ("arith.addi", "arith.subi", "arith.muli") and isinstance(op.results[0].type, IndexType):
            a, b = (coef.get(x, 0) for x in ins)
            if name == "arith.muli":
                if a and b:
                    raise NotVectorizable("index product of two varying values")
                const = _index_constant(ins[1] if a else ins[0])
                if (a or b) and const is None:
                    raise NotVectorizable("varying index scaled by a runtime value")
                c = (a or b) * (const or 0)
            else:
                c = a + b if name == "arith.addi" else a - b
            if c:
                coef[op.results[0]] = c
            continue
        if any(x in coef for x in ins) and name not in ("loop.load", "loop.store", "loop.block"):
            raise NotVectorizable(f"varying index used by {name}")
        if name == "loop.load":
            idx = ins[1:]
            if any(coef.get(x, 0) for x in idx[:-1]):
                raise NotVectorizable("load varies in an inner-most-but-one axis")
            c = coef.get(idx[-1], 0) if idx else 0
            if not 0 <= c <= max_stride:
                raise NotVectorizable("strided load")
            if c >= 1:
                varying.add(op.results[0])
                sizes.append(numpy_dtype(op.results[0].type).itemsize)
        elif name == "loop.store":
            idx = ins[2:]
            if not idx or coef.get(idx[-1], 0) != 1 or any(coef.get(x, 0) for x in idx[:-1]):
                raise NotVectorizable("store does not move contiguously with the loop")
            sizes.append(numpy_dtype(ins[0].type).itemsize)
        elif name == "loop.block":
            if accumulator is None and any(coef.get(x, 0) for x, k in zip(ins, op.attr("iter_kinds")) if k == REDUCE):
                raise NotVectorizable("the loop drives a reduce iterator")
            for region in op.regions[1:] if accumulator is not None else op.regions:
                for a, b in zip(region.block.args, ins):
                    if b in coef:
                        coef[a] = coef[b]
                sizes += analyze(var, region.block, coef, varying, max_stride, accumulator, divisions)
        elif name.startswith("arith.") or name.startswith("math."):
            if any(x in varying for x in ins):
                if len(op.results) != 1 or name in SCALAR_ONLY or name.endswith(SCALAR_ONLY_SUFFIXES):
                    raise NotVectorizable(f"xDSL's {name} takes no vectors")
                varying.add(op.results[0])
        else:
            raise NotVectorizable(f"{name} in a vectorized body")
    return sizes


def _divisors(block: Block, known: dict[SSAValue, int]) -> None:
    """A divisor of each index value's first-lane value, given those in `known` (the loop
    variable's: the lanes, its vectors starting at multiples of them); 1 where nothing is known,
    0 for zero (which every number divides: gcd(0, k) = k)."""

    def of(v: SSAValue) -> int:
        if v in known:
            return known[v]
        const = _index_constant(v)
        return abs(const) if const is not None else 1

    for op in _body_ops(block):
        name = op.name
        if name == "loop.block":
            for region in op.regions:
                for arg, operand in zip(region.block.args, op.operands):
                    known[arg] = of(operand)
                _divisors(region.block, known)
            continue
        if not op.results or not isinstance(op.results[0].type, IndexType):
            continue
        ins = list(op.operands)
        if name == "arith.muli":
            known[op.results[0]] = of(ins[0]) * of(ins[1])
        elif name in ("arith.addi", "arith.subi"):
            known[op.results[0]] = gcd(of(ins[0]), of(ins[1]))
        elif name in REMAINDERS:
            known[op.results[0]] = gcd(of(ins[0]), of(ins[1]))


def divisions_stay_in_blocks(body: Block, var: SSAValue, lower: int | None, lanes: int, divisions: list[tuple[SSAValue, int]]) -> bool:
    """Whether every (x, C) of `divisions` keeps each vector's lanes in one block [kC, kC + C):
    the vectors start at multiples of `lanes` (a static lower bound that is one), lanes divides
    C, and x's first-lane value is a multiple of lanes. Then x floordiv C is the first lane's and
    x rem C steps by one per lane."""
    if not divisions:
        return True
    if lower is None or lower % lanes:
        return False
    known = {var: lanes}
    _divisors(body, known)
    return all(divisor % lanes == 0 and known.get(x, 1) % lanes == 0 for x, divisor in divisions)


def _index_constant(v: SSAValue) -> int | None:
    owner = v.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.result.type, IndexType):
        return owner.value.value.data
    return None


class VectorBody:
    def __init__(self, lowerer, em, var: SSAValue, base: SSAValue, lanes: int, coef, varying):
        self.lowerer, self.em, self.var, self.base, self.lanes = lowerer, em, var, base, lanes
        self.coef, self.varying = coef, varying
        self.vectors: dict[SSAValue, SSAValue] = {}

    def vector_of(self, value: SSAValue, em) -> SSAValue:
        if value in self.vectors:
            return self.vectors[value]
        scalar = em.values[value]
        return em.add(Device["broadcast"].build([scalar], {"lanes": self.lanes})).results[0]

    def emit_block(self, block: Block, em) -> None:
        for op in _body_ops(block):
            self.emit(op, em)

    def emit(self, op: Operation, em) -> None:
        name = op.name
        if op.results and op.results[0] in self.coef or (name.startswith("arith.") and op.results and isinstance(op.results[0].type, IndexType)):
            # Index arithmetic: evaluated with the loop variable at the vector's first lane.
            emit_index_arith(op, em)
            return
        if name == "loop.load":
            ops = [em.values[o] for o in op.operands]
            if op.results[0] in self.varying:
                stride = self.coef.get(op.operands[-1], 1)
                self.vectors[op.results[0]] = em.add(Device["vload"].build(ops, {"lanes": self.lanes, "stride": stride})).results[0]
            else:
                em.values[op.results[0]] = em.add(Device["load"].build(ops)).results[0]
        elif name == "loop.store":
            value = self.vector_of(op.operands[0], em)
            em.add(Device["vstore"].build([value] + [em.values[o] for o in op.operands[1:]], {}))
        elif name == "loop.block":
            self.emit_loop_block(op, em)
        elif any(o in self.varying for o in op.operands):
            operands = [self.vector_of(o, em) for o in op.operands]
            rt = VectorType(op.results[0].type, [self.lanes])
            new = op.__class__.create(operands=operands, result_types=[rt], properties=dict(op.properties), attributes=dict(op.attributes))
            em.add(new)
            self.vectors[op.results[0]] = new.results[0]
        else:
            em.add(op.clone(value_mapper=em.values))

    def emit_loop_block(self, op: Operation, em) -> None:
        from lamina.lowering.loop_to_device import inline_block

        inline_block(op, em, self.emit_block)


def max_stride_of(lowerer) -> int:
    # The llvm target gathers stride-2 lanes from two loads (a strided conv's input row).
    return 2 if lowerer.target == "llvm" else 1


def vector_loop(em, lower: SSAValue, upper: SSAValue, lanes: int, emit_body) -> SSAValue:
    """A device loop over the whole vectors of [lower, upper), its body emitted by
    `emit_body(emitter, iv)`; returns where the scalar tail starts."""
    main_end = em.whole_steps_end(lower, upper, lanes)
    em.loop(lower, main_end, lanes, emit_body)
    return main_end


def loop_lanes(loop: Operation, element_bytes: int) -> int:
    """The lanes a vectorized loop's vectors take: the loop's own `lanes`, or the target's widest
    vector of its widest element."""
    return loop.attr("lanes") or host_target().vector_lanes(element_bytes)


def try_vectorize(lowerer, op: Operation, em, lower: SSAValue, upper: SSAValue) -> bool:
    if op.attr("step") != 1:
        return False
    if op.attr("kind") == "reduction":
        from lamina.lowering.vector_reduction import try_vectorize_reduction

        return try_vectorize_reduction(lowerer, op, em, lower, upper)
    body = op.regions[0].block
    var = body.args[0]
    coef: dict[SSAValue, int] = {var: 1}
    varying: set[SSAValue] = set()
    divisions: list[tuple[SSAValue, int]] = []
    try:
        sizes = analyze(var, body, coef, varying, max_stride_of(lowerer), divisions=divisions)
    except NotVectorizable:
        return False
    if not sizes:
        return False
    lanes = loop_lanes(op, max(sizes))
    if lanes < 2 or not divisions_stay_in_blocks(body, var, _index_constant(op.operands[0]), lanes, divisions):
        return False

    def vectors(inner, iv: SSAValue) -> None:
        inner.values[var] = iv
        VectorBody(lowerer, em, var, iv, lanes, coef, varying).emit_block(body, inner)

    main_end = vector_loop(em, lower, upper, lanes, vectors)
    em.loop(main_end, upper, 1, lambda scalar, iv: lowerer.emit_body_at(body, scalar, iv))
    return True


__all__ = ["NotVectorizable", "VectorBody", "analyze", "loop_lanes", "max_stride_of", "try_vectorize", "vector_loop", "math"]
