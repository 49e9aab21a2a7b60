"""Small queries graph rewrites share: constants, splats, building replacement ops at a location."""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from lamina.dialects.graph import Graph
from lamina.ir.optable import TableOp


def constant_array(v: SSAValue) -> np.ndarray | None:
    owner = v.owner
    if isinstance(owner, Operation) and owner.name == "graph.const":
        return owner.attr("value")
    return None


def splat_value(v: SSAValue) -> float | None:
    arr = constant_array(v)
    if arr is None or arr.size == 0:
        return None
    first = arr.flat[0]
    if np.all(arr == first):
        return first.item()
    return None


def is_splat(v: SSAValue, value: float) -> bool:
    s = splat_value(v)
    return s is not None and s == value


def transpose_perm(op: Operation) -> list[int]:
    """A graph.transpose's permutation; reversed axes when it has none."""
    perm = op.attr("perm")
    return list(perm) if perm is not None else list(reversed(range(op.operands[0].type.rank)))


def build(rewriter: PatternRewriter, at: Operation, name: str, operands: list[SSAValue], attrs: dict[str, Any], insert: bool = True) -> TableOp:
    """A new graph op carrying `at`'s location (xDSL rewrites do not), inserted before `at`
    unless the caller hands it to `rewriter.replace_op`, which inserts it itself."""
    op = Graph[name].build(operands, attrs)
    op.location = at.location
    if insert:
        rewriter.insert(op, InsertPoint.before(at))
    return op


def erase_dead_pure_ops(root: Operation) -> None:
    """Remove graph ops nobody uses (what a rewrite left behind), until none is left."""
    changed = True
    while changed:
        changed = False
        for op in list(root.walk(reverse=True)):
            if isinstance(op, TableOp) and op.name.startswith("graph.") and op.results and all(not r.uses for r in op.results):
                op.detach()
                op.erase()
                changed = True
