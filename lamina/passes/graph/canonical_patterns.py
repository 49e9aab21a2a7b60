"""The algebraic simplifications `canonicalize` applies: one RewritePattern per rewrite, typed on
its root op, gathered in the table CANONICAL_PATTERNS at the bottom.

Every pattern replaces its root's result by a value of exactly the same type, or leaves the op
alone. That is what keeps broadcasting honest: `x + zeros` is `x` only when the zeros did not
broadcast the result to a bigger shape (or a wider dtype) than `x`.

Float rules keep IEEE semantics: `x*0` is NaN for x = inf or NaN, and `x-x` is NaN for x = inf,
so those two fold to zeros for integer tensors only. `x+0 -> x` is kept for floats although
`-0.0 + 0.0` is `+0.0`: the sign of a zero is the one thing it changes, as in every compiler's
"no signed zeros" default for graph IR.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from lamina.dialects.graph import Graph
from lamina.ir.types import is_integer
from lamina.passes.graph.layout_patterns import SinkTranspose
from lamina.passes.graph.support import build, constant_array, is_splat, transpose_perm

AbsOp = Graph["abs"]
AddOp = Graph["add"]
AndOp = Graph["and"]
BroadcastToOp = Graph["broadcast_to"]
CastOp = Graph["cast"]
CeilOp = Graph["ceil"]
ClipOp = Graph["clip"]
ConcatOp = Graph["concat"]
DivOp = Graph["div"]
FlattenOp = Graph["flatten"]
FloorOp = Graph["floor"]
MaxPoolOp = Graph["max_pool2d"]
MaximumOp = Graph["maximum"]
MinimumOp = Graph["minimum"]
MulOp = Graph["mul"]
NegOp = Graph["neg"]
NotOp = Graph["not"]
OrOp = Graph["or"]
PadOp = Graph["pad"]
PowOp = Graph["pow"]
ReluOp = Graph["relu"]
ReshapeOp = Graph["reshape"]
SliceOp = Graph["slice"]
SplitOp = Graph["split"]
SqueezeOp = Graph["squeeze"]
SubOp = Graph["sub"]
TransposeOp = Graph["transpose"]
UnsqueezeOp = Graph["unsqueeze"]
WhereOp = Graph["where"]

# Ops that only reinterpret the shape: the element order is kept whatever their attributes.
ShapeOnlyOp = ReshapeOp | SqueezeOp | UnsqueezeOp | FlattenOp


def replace_if_same_type(rewriter: PatternRewriter, op: Operation, value: SSAValue) -> None:
    if value.type == op.results[0].type:
        rewriter.replace(op, [], [value])


def producer(value: SSAValue, kind: type[Operation] | object) -> Operation | None:
    """The op that defines `value` when it is an instance of `kind`."""
    owner = value.owner
    return owner if isinstance(owner, kind) else None  # type: ignore[arg-type]


def replace_with_zeros(rewriter: PatternRewriter, op: Operation) -> None:
    result_type = op.results[0].type
    if not result_type.is_static:
        return  # a constant needs a static shape
    zeros = build(rewriter, op, "const", [], {"value": np.zeros(result_type.shape, dtype=result_type.dtype)})
    rewriter.replace(op, [], [zeros.results[0]])


class AddZero(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AddOp, rewriter: PatternRewriter) -> None:
        if is_splat(op.rhs, 0):
            replace_if_same_type(rewriter, op, op.lhs)


class ZeroAdd(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AddOp, rewriter: PatternRewriter) -> None:
        if is_splat(op.lhs, 0):
            replace_if_same_type(rewriter, op, op.rhs)


class SubZero(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SubOp, rewriter: PatternRewriter) -> None:
        if is_splat(op.rhs, 0):
            replace_if_same_type(rewriter, op, op.lhs)


class IntSubSelf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SubOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs and is_integer(op.out.type.element_type):
            replace_with_zeros(rewriter, op)


class AddNeg(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AddOp, rewriter: PatternRewriter) -> None:
        # IEEE defines x - y as x + (-y): exact for every float, signed zeros included.
        if (negated := producer(op.rhs, NegOp)) is not None:
            rewriter.replace(op, build(rewriter, op, "sub", [op.lhs, negated.x], {}, insert=False))


class SubNeg(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SubOp, rewriter: PatternRewriter) -> None:
        if (negated := producer(op.rhs, NegOp)) is not None:
            rewriter.replace(op, build(rewriter, op, "add", [op.lhs, negated.x], {}, insert=False))


class MulOne(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MulOp, rewriter: PatternRewriter) -> None:
        if is_splat(op.rhs, 1):
            replace_if_same_type(rewriter, op, op.lhs)


class OneMul(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MulOp, rewriter: PatternRewriter) -> None:
        if is_splat(op.lhs, 1):
            replace_if_same_type(rewriter, op, op.rhs)


class IntMulZero(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MulOp, rewriter: PatternRewriter) -> None:
        if is_integer(op.out.type.element_type) and (is_splat(op.lhs, 0) or is_splat(op.rhs, 0)):
            replace_with_zeros(rewriter, op)


class DivOne(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: DivOp, rewriter: PatternRewriter) -> None:
        if is_splat(op.rhs, 1):
            replace_if_same_type(rewriter, op, op.lhs)


class PowOne(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: PowOp, rewriter: PatternRewriter) -> None:
        if is_splat(op.rhs, 1):
            replace_if_same_type(rewriter, op, op.lhs)


class MaximumSelf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MaximumOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs:
            replace_if_same_type(rewriter, op, op.lhs)


class MinimumSelf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MinimumOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs:
            replace_if_same_type(rewriter, op, op.lhs)


class AndSelf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AndOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs:
            replace_if_same_type(rewriter, op, op.lhs)


class OrSelf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: OrOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs:
            replace_if_same_type(rewriter, op, op.lhs)


class NegNeg(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NegOp, rewriter: PatternRewriter) -> None:
        if (inner := producer(op.x, NegOp)) is not None:
            replace_if_same_type(rewriter, op, inner.x)


class NotNot(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: NotOp, rewriter: PatternRewriter) -> None:
        if (inner := producer(op.x, NotOp)) is not None:
            replace_if_same_type(rewriter, op, inner.x)


class AbsOfAbsOrNeg(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: AbsOp, rewriter: PatternRewriter) -> None:
        if (inner := producer(op.x, AbsOp)) is not None:
            rewriter.replace(op, [], [inner.out])
        elif (inner := producer(op.x, NegOp)) is not None:
            # |-x| = |x| also for the most negative integer: both wrap to itself.
            rewriter.replace(op, build(rewriter, op, "abs", [inner.x], {}, insert=False))


class ReluRelu(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReluOp, rewriter: PatternRewriter) -> None:
        if (inner := producer(op.x, ReluOp)) is not None:
            rewriter.replace(op, [], [inner.out])


class FloorFloor(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: FloorOp, rewriter: PatternRewriter) -> None:
        if (inner := producer(op.x, FloorOp | CeilOp)) is not None:
            rewriter.replace(op, [], [inner.out])


class CeilCeil(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: CeilOp, rewriter: PatternRewriter) -> None:
        if (inner := producer(op.x, FloorOp | CeilOp)) is not None:
            rewriter.replace(op, [], [inner.out])


class ShapeOpToSameShape(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ShapeOnlyOp, rewriter: PatternRewriter) -> None:
        replace_if_same_type(rewriter, op, op.x)


class ShapeOpOfShapeOp(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ShapeOnlyOp, rewriter: PatternRewriter) -> None:
        inner = producer(op.x, ShapeOnlyOp)
        if inner is None:
            return
        if inner.x.type == op.out.type:
            rewriter.replace(op, [], [inner.x])
            return
        reshape = build(rewriter, op, "reshape", [inner.x], {"shape": list(op.out.type.shape)}, insert=False)
        if reshape.out.type == op.out.type:
            rewriter.replace(op, reshape)
        else:
            reshape.erase()


class TransposeIdentity(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter) -> None:
        if transpose_perm(op) == list(range(op.x.type.rank)):
            rewriter.replace(op, [], [op.x])


class TransposeOfTranspose(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter) -> None:
        inner = producer(op.x, TransposeOp)
        if inner is None:
            return
        # out[j] = mid[outer[j]] = x[inner[outer[j]]]
        inner_perm, outer_perm = transpose_perm(inner), transpose_perm(op)
        composed = [inner_perm[j] for j in outer_perm]
        if composed == list(range(len(composed))):
            rewriter.replace(op, [], [inner.x])
        else:
            rewriter.replace(op, build(rewriter, op, "transpose", [inner.x], {"perm": composed}, insert=False))


class CastToSameType(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: CastOp, rewriter: PatternRewriter) -> None:
        replace_if_same_type(rewriter, op, op.x)


class BroadcastToSameShape(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: BroadcastToOp, rewriter: PatternRewriter) -> None:
        replace_if_same_type(rewriter, op, op.x)


class BroadcastOfBroadcast(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: BroadcastToOp, rewriter: PatternRewriter) -> None:
        if (inner := producer(op.x, BroadcastToOp)) is not None:
            rewriter.replace(op, build(rewriter, op, "broadcast_to", [inner.x], {"shape": list(op.attr("shape"))}, insert=False))


class WhereSame(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: WhereOp, rewriter: PatternRewriter) -> None:
        if op.lhs == op.rhs:
            replace_if_same_type(rewriter, op, op.lhs)


class SliceOfWhole(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SliceOp, rewriter: PatternRewriter) -> None:
        # With unit steps, keeping every size means starting at 0 on every axis.
        steps = op.attr("steps")
        if steps is None or all(s == 1 for s in steps):
            replace_if_same_type(rewriter, op, op.x)


class PadOfNothing(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: PadOp, rewriter: PatternRewriter) -> None:
        if all(p == 0 for p in op.attr("pads")):
            replace_if_same_type(rewriter, op, op.x)


class MaxPoolOfRelu(RewritePattern):
    """max_pool(relu(x)) -> relu(max_pool(x)): max is monotone, so the ReLU commutes with the
    window's max, and after the pool it runs over 1/stride^2 of the elements (ResNet's stem:
    a 64 x 112 x 112 pass becomes 64 x 56 x 56). Both use NaN-propagating max, so a NaN in a
    window gives NaN either way. It needs every window to hold at least one element of x (a
    window all of padding is -inf, not 0): stride-floor windows without dilation whose pads are
    shorter than the kernel. The ReLU must have no other reader, or it would still run."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MaxPoolOp, rewriter: PatternRewriter) -> None:
        relu = producer(op.x, ReluOp)
        if relu is None or len(list(relu.out.uses)) != 1 or not windows_hold_input(op):
            return
        pooled = build(rewriter, op, "max_pool2d", [relu.x], op.attr_values())
        rewriter.replace(op, build(rewriter, op, "relu", [pooled.results[0]], {}, insert=False))


class MaxPoolOfBias(RewritePattern):
    """max_pool(x + b) -> max_pool(x) + b for a finite constant b that is the same across each
    window (size 1 along the pooled axes: a conv's per-channel bias after split-conv-bias).
    Float addition of a fixed b is monotone, so the max of the sums is the sum of the max,
    rounding included; an infinite b could meet an infinite x (NaN) and is left alone."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: MaxPoolOp, rewriter: PatternRewriter) -> None:
        add = producer(op.x, AddOp)
        if add is None or len(list(add.out.uses)) != 1 or not windows_hold_input(op):
            return
        for full, bias in ((add.lhs, add.rhs), (add.rhs, add.lhs)):
            values = constant_array(bias)
            if full.type != add.out.type or values is None or not np.issubdtype(values.dtype, np.floating):
                continue
            if values.ndim > 4 or ((1,) * (4 - values.ndim) + values.shape)[2:] != (1, 1):
                continue  # varies along the pooled axes
            if not np.isfinite(values).all():
                continue
            pooled = build(rewriter, op, "max_pool2d", [full], op.attr_values())
            rewriter.replace(op, build(rewriter, op, "add", [pooled.results[0], bias], {}, insert=False))
            return


def windows_hold_input(pool: Operation) -> bool:
    """Every window of the pool holds at least one element of its input (none is padding only,
    whose max is -inf): windows without dilation, pads shorter than the kernel, floor mode."""
    kernel, pads = list(pool.attr("kernel")), list(pool.attr("pads"))
    if pool.attr("ceil_mode") or any(d != 1 for d in pool.attr("dilations")):
        return False
    return all(p < k for p, k in zip(pads, kernel + kernel))


class ConcatOfOne(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ConcatOp, rewriter: PatternRewriter) -> None:
        if len(op.operands) == 1:
            replace_if_same_type(rewriter, op, op.operands[0])


class SplitOfUnused(RewritePattern):
    """A split some of whose parts nobody reads: the parts read become slices, which fuse into
    their consumers, and the others are never computed."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SplitOp, rewriter: PatternRewriter) -> None:
        if all(r.uses for r in op.results) or not any(r.uses for r in op.results):
            return  # all read: one split; none read: dead code elimination's
        axis = op.attr("axis") % op.x.type.rank
        parts, start = [], 0
        for result, size in zip(op.results, op.attr("sizes")):
            if result.uses:
                part = build(rewriter, op, "slice", [op.x], {"starts": [start], "ends": [start + size], "axes": [axis]}, insert=False)
                if part.results[0].type != result.type:
                    return
                parts.append((result, part))
            start += size
        for result, part in parts:
            rewriter.insert(part, InsertPoint.before(op))
            rewriter.replace_all_uses_with(result, part.results[0])
        rewriter.erase(op)


class ClipUnbounded(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ClipOp, rewriter: PatternRewriter) -> None:
        if op.attr("min") is None and op.attr("max") is None:
            replace_if_same_type(rewriter, op, op.x)


CANONICAL_PATTERNS: tuple[RewritePattern, ...] = (
    AddZero(),  # x+0 -> x
    ZeroAdd(),  # 0+x -> x
    AddNeg(),  # x+(-y) -> x-y
    SubZero(),  # x-0 -> x
    SubNeg(),  # x-(-y) -> x+y
    IntSubSelf(),  # x-x -> 0 (integers; inf-inf is NaN)
    MulOne(),  # x*1 -> x
    OneMul(),  # 1*x -> x
    IntMulZero(),  # x*0 -> 0, 0*x -> 0 (integers; inf*0 and NaN*0 are NaN)
    DivOne(),  # x/1 -> x
    PowOne(),  # x**1 -> x
    MaximumSelf(),  # max(x, x) -> x
    MinimumSelf(),  # min(x, x) -> x
    AndSelf(),  # x & x -> x
    OrSelf(),  # x | x -> x
    NegNeg(),  # -(-x) -> x
    NotNot(),  # !!x -> x
    AbsOfAbsOrNeg(),  # |(|x|)| -> |x|, |-x| -> |x|
    ReluRelu(),  # relu(relu(x)) -> relu(x)
    FloorFloor(),  # floor(floor(x)) -> floor(x), floor(ceil(x)) -> ceil(x)
    CeilCeil(),  # ceil(ceil(x)) -> ceil(x), ceil(floor(x)) -> floor(x)
    ShapeOpToSameShape(),  # reshape/squeeze/unsqueeze/flatten(x) to x's own shape -> x
    ShapeOpOfShapeOp(),  # reshape(reshape(x)) -> reshape(x); unsqueeze(squeeze(x)) -> x
    TransposeIdentity(),  # transpose(x, [0, 1, ...]) -> x
    TransposeOfTranspose(),  # transpose(transpose(x, p), q) -> transpose(x, p∘q)
    CastToSameType(),  # cast(x: f32, to f32) -> x
    BroadcastToSameShape(),  # broadcast_to(x, shape of x) -> x
    BroadcastOfBroadcast(),  # broadcast_to(broadcast_to(x, s), t) -> broadcast_to(x, t)
    WhereSame(),  # where(c, x, x) -> x
    SliceOfWhole(),  # x[0:n:1] -> x
    PadOfNothing(),  # pad(x, 0...) -> x
    MaxPoolOfRelu(),  # max_pool(relu(x)) -> relu(max_pool(x))
    MaxPoolOfBias(),  # max_pool(x + b) -> max_pool(x) + b, b constant across each window
    ConcatOfOne(),  # concat(x) -> x
    SplitOfUnused(),  # a, _ = split(x) -> a = slice(x)
    ClipUnbounded(),  # clip(x, none, none) -> x
    SinkTranspose(),  # f(transpose(a, p), c) -> transpose(f(a, c'), p) for elementwise f
)
