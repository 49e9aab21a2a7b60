"""`canonicalize`: algebraic simplification of graph ops, as a table of rewrite rules.

Each rule takes the matched op and returns the value that replaces its result, or None. A rule
never changes a type: replacing `x + zeros` by `x` is only right when broadcasting did not make
the result bigger than `x`, so every identity checks that the result type equals the operand's.
Float rules keep IEEE semantics: `x*0` and `x-x` are not zero for NaN or inf, so they fold for
integers only. Dead pure ops left behind are removed. The rules run to a fixpoint capped at
`max-iterations` sweeps; hitting the cap is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.ir.diagnostics import emit_warning, location_of
from lamina.ir.optable import TableOp
from lamina.ir.types import is_integer
from lamina.passes.graph.support import build, erase_dead_pure_ops, is_splat, zeros_like
from xdsl.passes import ModulePass

Rule = Callable[[TableOp, PatternRewriter], SSAValue | None]

# Ops that only reinterpret the shape: the same element order whatever the attributes.
RESHAPES = ("graph.reshape", "graph.squeeze", "graph.unsqueeze", "graph.flatten")


def result(op: Operation) -> SSAValue:
    return op.results[0]


def same_type(op: Operation, v: SSAValue) -> bool:
    return v.type == op.results[0].type


def keep_if_same_type(op: Operation, v: SSAValue) -> SSAValue | None:
    return v if same_type(op, v) else None


def lhs_if_rhs_is(value: float):
    def rule(op, rw):
        return keep_if_same_type(op, op.operands[0]) if is_splat(op.operands[1], value) else None

    return rule


def rhs_if_lhs_is(value: float):
    def rule(op, rw):
        return keep_if_same_type(op, op.operands[1]) if is_splat(op.operands[0], value) else None

    return rule


def int_zero_if(test):
    def rule(op, rw):
        if is_integer(op.results[0].type.element_type) and test(op):
            return zeros_like(rw, op, op.results[0].type)
        return None

    return rule


def inner(op: Operation, name: str | tuple[str, ...]) -> Operation | None:
    owner = op.operands[0].owner
    names = (name,) if isinstance(name, str) else name
    return owner if isinstance(owner, Operation) and owner.name in names else None


def twice_is_once(name: str) -> Rule:
    def rule(op, rw):
        first = inner(op, name)
        return result(first) if first is not None else None

    return rule


def involution(name: str) -> Rule:
    def rule(op, rw):
        first = inner(op, name)
        return keep_if_same_type(op, first.operands[0]) if first is not None else None

    return rule


def identity_if_same_type(op, rw):
    return keep_if_same_type(op, op.operands[0])


def reshape_of_reshape(op, rw):
    first = inner(op, RESHAPES)
    if first is None:
        return None
    if same_type(op, first.operands[0]):
        return first.operands[0]
    return result(build(rw, op, "reshape", [first.operands[0]], {"shape": list(op.results[0].type.shape)}))


def transpose_identity(op, rw):
    perm = op.attr("perm")
    rank = op.operands[0].type.rank
    if perm is not None and list(perm) == list(range(rank)):
        return op.operands[0]
    return None


def transpose_of_transpose(op, rw):
    first = inner(op, "graph.transpose")
    if first is None:
        return None
    rank = op.operands[0].type.rank
    p1 = first.attr("perm") or tuple(reversed(range(rank)))
    p2 = op.attr("perm") or tuple(reversed(range(rank)))
    composed = [p1[i] for i in p2]
    if composed == list(range(rank)):
        return first.operands[0]
    return result(build(rw, op, "transpose", [first.operands[0]], {"perm": composed}))


def slice_whole(op, rw):
    steps = op.attr("steps")
    if (steps is None or all(s == 1 for s in steps)) and same_type(op, op.operands[0]):
        return op.operands[0]
    return None


def pad_nothing(op, rw):
    return op.operands[0] if all(p == 0 for p in op.attr("pads")) and same_type(op, op.operands[0]) else None


def concat_single(op, rw):
    return op.operands[0] if len(op.operands) == 1 else None


def clip_unbounded(op, rw):
    return op.operands[0] if op.attr("min") is None and op.attr("max") is None else None


RULES: dict[str, list[Rule]] = {
    "graph.add": [
        lhs_if_rhs_is(0),  # x+0 -> x
        rhs_if_lhs_is(0),  # 0+x -> x
    ],
    "graph.sub": [
        lhs_if_rhs_is(0),  # x-0 -> x
        int_zero_if(lambda op: op.operands[0] == op.operands[1]),  # x-x -> 0 (integers)
    ],
    "graph.mul": [
        lhs_if_rhs_is(1),  # x*1 -> x
        rhs_if_lhs_is(1),  # 1*x -> x
        int_zero_if(lambda op: is_splat(op.operands[1], 0) or is_splat(op.operands[0], 0)),  # x*0 -> 0 (integers)
    ],
    "graph.div": [
        lhs_if_rhs_is(1),  # x/1 -> x
    ],
    "graph.pow": [
        lhs_if_rhs_is(1),  # x**1 -> x
    ],
    "graph.neg": [involution("graph.neg")],  # -(-x) -> x
    "graph.not": [involution("graph.not")],  # !!x -> x
    "graph.relu": [twice_is_once("graph.relu")],  # relu(relu(x)) -> relu(x)
    "graph.abs": [twice_is_once("graph.abs")],  # |(|x|)| -> |x|
    "graph.floor": [twice_is_once("graph.floor")],  # floor(floor(x)) -> floor(x)
    "graph.ceil": [twice_is_once("graph.ceil")],  # ceil(ceil(x)) -> ceil(x)
    "graph.reshape": [identity_if_same_type, reshape_of_reshape],  # reshape(x) to its own shape -> x; reshape(reshape(x)) -> reshape(x)
    "graph.squeeze": [identity_if_same_type, reshape_of_reshape],  # squeeze of nothing -> x; chains -> one reshape
    "graph.unsqueeze": [identity_if_same_type, reshape_of_reshape],  # unsqueeze(squeeze(x)) -> reshape(x)
    "graph.flatten": [identity_if_same_type, reshape_of_reshape],  # flatten of a matrix -> x
    "graph.transpose": [transpose_identity, transpose_of_transpose],  # transpose(x, id) -> x; transpose(transpose(x)) -> transpose(x, composed)
    "graph.cast": [identity_if_same_type],  # cast(x: f32, f32) -> x
    "graph.broadcast_to": [identity_if_same_type],  # broadcast_to(x, shape of x) -> x
    "graph.slice": [slice_whole],  # x[0:n:1] -> x
    "graph.pad": [pad_nothing],  # pad(x, 0) -> x
    "graph.concat": [concat_single],  # concat(x) -> x
    "graph.clip": [clip_unbounded],  # clip(x, none, none) -> x
}


class ApplyRuleTable(RewritePattern):
    """Tries the rules of the matched op's name in order; the first that gives a value wins."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        rules = RULES.get(op.name)
        if not rules or not isinstance(op, TableOp):
            return
        for rule in rules:
            replacement = rule(op, rewriter)
            if replacement is not None:
                assert replacement.type == op.results[0].type, f"rule for {op.name} changed a type"
                rewriter.replace(op, [], [replacement])
                return


@dataclass(frozen=True)
class Canonicalize(ModulePass):
    name = "canonicalize"
    max_iterations: int = 10

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        walker = PatternRewriteWalker(ApplyRuleTable(), apply_recursively=False)
        for _ in range(self.max_iterations):
            changed = walker.rewrite_module(op)
            erase_dead_pure_ops(op)
            if not changed:
                return
        first = next((o for o in op.walk() if o.name in RULES), None)
        emit_warning(f"canonicalize did not converge in {self.max_iterations} iterations (raise max-iterations)", location_of(first))
