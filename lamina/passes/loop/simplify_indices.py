"""`simplify-indices`: index arithmetic of loop IR folded by the ranges the iterators take.

A `loop.block` iterator runs over [0, domain) and a `loop.for` variable over its constant bounds,
so interval arithmetic bounds every index expression built from them. Compute rules guard
accesses generically (clamp with maxsi/minsi, select on an in-bounds test); where the ranges
prove the guard always holds — a conv after explicit padding, a pooling window inside the
input — the guard folds away and the access becomes plain affine, which the vectorizer needs.

    maxsi(x, y) -> x            when lo(x) >= hi(y)      (and the mirror cases, minsi too)
    cmpi p, x, y -> true/false  when the ranges decide p
    andi(true, c) -> c,  select(true, a, b) -> a,  select(false, a, b) -> b
    x*1 -> x,  x+0 -> x,  x-0 -> x
    (q*c + r) floordiv c -> q,  (q*c + r) rem c -> r   when 0 <= r < c  (and q*c + r >= 0 for rem)

The last pair undoes the linearize-then-delinearize that a reshape composed with a transpose
writes (`((h*128 + s)*4 + d)*64 ... floordiv 256`): the division by a varying index kept the
transpose's vector loop scalar.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr, IntegerType, ModuleOp
from xdsl.ir import BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.transforms.dead_code_elimination import region_dce
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from lamina.ir.arith_predicates import CMPI_PREDICATES

Range = tuple[int, int]  # inclusive bounds


def _constant(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def index_range(value: SSAValue, depth: int = 0) -> Range | None:
    """Inclusive bounds of an index value, or None when nothing bounds it."""
    c = _constant(value)
    if c is not None:
        return (c, c)
    if depth > 32:
        return None
    if isinstance(value, BlockArgument):
        return _argument_range(value, depth)
    owner = value.owner
    if not isinstance(owner, Operation) or len(owner.operands) != 2:
        return None
    a, b = (index_range(o, depth + 1) for o in owner.operands)
    if a is None or b is None:
        return None
    if isinstance(owner, arith.AddiOp):
        return (a[0] + b[0], a[1] + b[1])
    if isinstance(owner, arith.SubiOp):
        return (a[0] - b[1], a[1] - b[0])
    if isinstance(owner, arith.MuliOp):
        corners = [x * y for x in a for y in b]
        return (min(corners), max(corners))
    if isinstance(owner, arith.MaxSIOp):
        return (max(a[0], b[0]), max(a[1], b[1]))
    if isinstance(owner, arith.MinSIOp):
        return (min(a[0], b[0]), min(a[1], b[1]))
    if isinstance(owner, (arith.FloorDivSIOp, arith.DivSIOp, arith.RemSIOp, arith.DivUIOp, arith.RemUIOp)) and b[0] == b[1] and b[0] > 0:
        c = b[0]
        # the truncating and unsigned forms agree with floor division on a dividend >= 0
        if isinstance(owner, arith.FloorDivSIOp) or a[0] >= 0:
            if isinstance(owner, (arith.RemSIOp, arith.RemUIOp)):
                return a if a[1] < c else (0, c - 1)
            return (a[0] // c, a[1] // c)
    return None


def _argument_range(arg: BlockArgument, depth: int) -> Range | None:
    parent = arg.block.parent_op()
    if parent is None:
        return None
    if parent.name == "loop.block":
        domain = parent.attr("domain")
        if domain is None or arg.index >= len(domain):
            return None
        extent = domain[arg.index]
        return (0, extent - 1) if isinstance(extent, int) and extent > 0 else None
    if parent.name == "loop.for" and arg.index == 0:
        lower, upper = (index_range(o, depth + 1) for o in parent.operands)
        if lower is None or upper is None or upper[1] <= lower[0]:
            return None
        return (lower[0], upper[1] - 1)
    return None


def _is_index(value: SSAValue) -> bool:
    return isinstance(value.type, IndexType)


def _bool_constant(value: SSAValue) -> bool | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and value.type == IntegerType(1):
        return bool(owner.value.value.data)
    return None


class FoldRedundantClamp(RewritePattern):
    # maxsi(x, y) -> x when x >= y always; minsi(x, y) -> x when x <= y always
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, (arith.MaxSIOp, arith.MinSIOp)) or not _is_index(op.result):
            return
        lhs, rhs = op.operands
        a, b = index_range(lhs), index_range(rhs)
        if a is None or b is None:
            return
        keep_max = isinstance(op, arith.MaxSIOp)
        if (a[0] >= b[1]) if keep_max else (a[1] <= b[0]):
            rewriter.replace(op, [], [lhs])
        elif (b[0] >= a[1]) if keep_max else (b[1] <= a[0]):
            rewriter.replace(op, [], [rhs])


DECIDE = {
    "slt": lambda a, b: True if a[1] < b[0] else False if a[0] >= b[1] else None,
    "sle": lambda a, b: True if a[1] <= b[0] else False if a[0] > b[1] else None,
    "sgt": lambda a, b: True if a[0] > b[1] else False if a[1] <= b[0] else None,
    "sge": lambda a, b: True if a[0] >= b[1] else False if a[1] < b[0] else None,
    "eq": lambda a, b: True if a[0] == a[1] == b[0] == b[1] else False if a[1] < b[0] or b[1] < a[0] else None,
    "ne": lambda a, b: False if a[0] == a[1] == b[0] == b[1] else True if a[1] < b[0] or b[1] < a[0] else None,
}


class FoldDecidedComparison(RewritePattern):
    # cmpi p, x, y -> true/false when the ranges of x and y decide p
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.CmpiOp, rewriter: PatternRewriter) -> None:
        lhs, rhs = op.operands
        if not _is_index(lhs):
            return
        decide = DECIDE.get(CMPI_PREDICATES[op.predicate.value.data])
        a, b = index_range(lhs), index_range(rhs)
        if decide is None or a is None or b is None:
            return
        verdict = decide(a, b)
        if verdict is not None:
            rewriter.replace(op, arith.ConstantOp(IntegerAttr(int(verdict), IntegerType(1))))


class FoldConstantBoolean(RewritePattern):
    # andi(true, c) -> c; andi(false, c) -> false; select(true, a, b) -> a; select(false, a, b) -> b
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if isinstance(op, arith.AndIOp) and op.result.type == IntegerType(1):
            for known, other in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
                verdict = _bool_constant(known)
                if verdict is not None:
                    rewriter.replace(op, [], [other if verdict else known])
                    return
        elif isinstance(op, arith.SelectOp):
            verdict = _bool_constant(op.cond)
            if verdict is not None:
                rewriter.replace(op, [], [op.lhs if verdict else op.rhs])


class FoldIdentityIndexArith(RewritePattern):
    # x*1 -> x, x+0 -> x, x-0 -> x (index values)
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, (arith.AddiOp, arith.SubiOp, arith.MuliOp)) or not _is_index(op.result):
            return
        lhs, rhs = op.operands
        neutral = 1 if isinstance(op, arith.MuliOp) else 0
        if _constant(rhs) == neutral:
            rewriter.replace(op, [], [lhs])
        elif _constant(lhs) == neutral and not isinstance(op, arith.SubiOp):
            rewriter.replace(op, [], [rhs])


LinearForm = tuple[dict[SSAValue, int], int]  # sum of coefficient * atom, plus a constant


def linear_form(value: SSAValue, depth: int = 0) -> LinearForm:
    """`value` as a sum of constant multiples of atoms (values that are no sum, difference or
    product by a constant) plus a constant."""
    c = _constant(value)
    if c is not None:
        return {}, c
    owner = value.owner
    if depth < 32 and isinstance(owner, (arith.AddiOp, arith.SubiOp, arith.MuliOp)) and _is_index(value):
        (ta, ca), (tb, cb) = (linear_form(o, depth + 1) for o in owner.operands)
        if isinstance(owner, arith.MuliOp):
            if not ta or not tb:
                (terms, k), scale = ((tb, cb), ca) if not ta else ((ta, ca), cb)
                return {v: coef * scale for v, coef in terms.items() if coef * scale}, k * scale
        else:
            sign = 1 if isinstance(owner, arith.AddiOp) else -1
            terms = dict(ta)
            for v, coef in tb.items():
                terms[v] = terms.get(v, 0) + sign * coef
            return {v: coef for v, coef in terms.items() if coef}, ca + sign * cb
    return {value: 1}, 0


def form_range(form: LinearForm) -> Range | None:
    terms, const = form
    lo = hi = const
    for v, coef in terms.items():
        r = index_range(v)
        if r is None:
            return None
        lo, hi = lo + min(coef * r[0], coef * r[1]), hi + max(coef * r[0], coef * r[1])
    return (lo, hi)


def build_form(form: LinearForm) -> tuple[list[Operation], SSAValue]:
    """Ops computing `form` (none for a lone atom) and the value they compute."""
    terms, const = form
    ops: list[Operation] = []
    summands: list[SSAValue] = []
    for v, coef in terms.items():
        if coef == 1:
            summands.append(v)
            continue
        ops.append(arith.ConstantOp(IntegerAttr(coef, IndexType())))
        ops.append(arith.MuliOp(v, ops[-1].results[0]))
        summands.append(ops[-1].results[0])
    if const or not summands:
        ops.append(arith.ConstantOp(IntegerAttr(const, IndexType())))
        summands.append(ops[-1].results[0])
    total = summands[0]
    for v in summands[1:]:
        ops.append(arith.AddiOp(total, v))
        total = ops[-1].results[0]
    return ops, total


class FoldDelinearization(RewritePattern):
    # x floordiv c -> q and x rem c -> r, for x = q*c + r with the ranges proving 0 <= r < c
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, (arith.FloorDivSIOp, arith.DivSIOp, arith.RemSIOp)) or not _is_index(op.result):
            return
        divisor = index_range(op.operands[1])
        if divisor is None or divisor[0] != divisor[1] or divisor[0] <= 0:
            return
        c = divisor[0]
        terms, const = linear_form(op.operands[0])
        quotient = {v: coef // c for v, coef in terms.items() if coef % c == 0}
        remainder = {v: coef for v, coef in terms.items() if coef % c}
        q0, r0 = divmod(const, c)
        r_range = form_range((remainder, r0))
        if r_range is None or r_range[0] < 0 or r_range[1] >= c:
            return
        if not isinstance(op, arith.FloorDivSIOp):
            # divsi and remsi truncate: they agree with the floor forms for a dividend >= 0
            x_range = form_range((terms, const))
            if x_range is None or x_range[0] < 0:
                return
        ops, value = build_form((remainder, r0) if isinstance(op, arith.RemSIOp) else (quotient, q0))
        rewriter.replace(op, ops, [value])


@dataclass(frozen=True)
class SimplifyIndices(ModulePass):
    """Fold index clamps, bounds tests, selects and divisions that the iterator ranges decide."""

    name = "simplify-indices"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        patterns = [FoldIdentityIndexArith(), FoldRedundantClamp(), FoldDecidedComparison(), FoldConstantBoolean(), FoldDelinearization()]
        PatternRewriteWalker(GreedyRewritePatternApplier(patterns), apply_recursively=True).rewrite_module(op)
        for region in op.regions:
            region_dce(region)


__all__ = ["SimplifyIndices", "index_range"]
