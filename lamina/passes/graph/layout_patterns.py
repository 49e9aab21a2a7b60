"""Layout rewrites of `canonicalize`: transposes sink through elementwise ops so that a
layout change and its inverse meet and cancel (`TransposeOfTranspose`).

A conv computed in NHWC (winograd-conv) ends in transpose(y, to NCHW) and the next one starts
with transpose(x, to NHWC); between them sit the bias add, the ReLU and the residual add,
which do not care about the layout. Sunk past them, the two transposes meet and vanish, and the
elementwise work runs on the NHWC tensor.
"""

from __future__ import annotations

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from lamina.ir.optable import TableOp
from lamina.passes.graph.support import build, constant_array, transpose_perm


def _is_elementwise(op: Operation) -> bool:
    """Each output element depends on the same element of every operand (numpy broadcasting
    aside): a row whose compute rule indexes every access with `...` only."""
    if not isinstance(op, TableOp) or not op.name.startswith("graph.") or len(op.results) != 1:
        return False
    rule = op.ROW.compute
    return rule is not None and rule.startswith("out[...] =") and rule.count("[") == rule.count("[...]")


def _transposed_by(value: SSAValue) -> tuple[Operation, list[int]] | None:
    owner = value.owner
    if isinstance(owner, Operation) and owner.name == "graph.transpose":
        return owner, transpose_perm(owner)
    return None


def _existing_transpose(value: SSAValue, perm: list[int], before: Operation) -> SSAValue | None:
    """transpose(value, perm) where the graph already computes it before `before`."""
    for use in value.uses:
        user = use.operation
        if user.name == "graph.transpose" and transpose_perm(user) == perm and user.parent_block() is before.parent_block() and user.is_before_in_block(before):
            return user.results[0]
    return None


class SinkTranspose(RewritePattern):
    """f(transpose(a, p), ...) -> transpose(f(a, ...), p) for an elementwise f whose other
    operands are transposes by the same p, constants (permuted at compile time) or values the
    graph already transposes by p's inverse (that transpose is reused)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not _is_elementwise(op):
            return
        found = [t for t in (_transposed_by(v) for v in op.operands) if t is not None]
        if not found:
            return
        perm = found[0][1]
        rank = len(perm)
        inverse = [int(k) for k in np.argsort(perm)]
        result_type = op.results[0].type
        if getattr(result_type, "rank", None) != rank:
            return
        # Decide for every operand before building anything: a refusal must leave no trace.
        plan: list[tuple[str, object]] = []
        for value in op.operands:
            transposed = _transposed_by(value)
            if transposed is not None:
                if transposed[1] != perm or value.type.rank != rank:
                    return
                plan.append(("value", transposed[0].operands[0]))
                continue
            values = constant_array(value)
            if values is not None:
                if values.ndim > rank:
                    return
                full = values.reshape((1,) * (rank - values.ndim) + values.shape)
                plan.append(("const", np.ascontiguousarray(np.transpose(full, inverse))))
                continue
            reused = _existing_transpose(value, inverse, op) if value.type == result_type else None
            if reused is None:
                return
            plan.append(("value", reused))
        operands = [item if kind == "value" else build(rewriter, op, "const", [], {"value": item}).results[0] for kind, item in plan]
        inner = build(rewriter, op, op.name.removeprefix("graph."), operands, op.attr_values())
        rewriter.replace(op, build(rewriter, op, "transpose", [inner.results[0]], {"perm": perm}, insert=False))
