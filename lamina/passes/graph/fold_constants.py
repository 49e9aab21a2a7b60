"""`fold-constants`: an op whose operands are all `graph.const` is evaluated once, at compile
time, with its row's numpy reference (the interpreter's `run_op`), and becomes a `graph.const`.

Results with symbolic shapes never fold; results larger than `max-elements` (all results of the
op together) stay computed at run time so a broadcast does not blow up the model file. An op the
reference refuses to evaluate is left for run time, where it reports its error with real inputs.
Constants left unused are removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_op
from lamina.ir.diagnostics import LaminaError
from lamina.ir.optable import TableOp
from lamina.ir.types import ShapedTypeMixin
from lamina.passes.graph.support import constant_array, erase_dead_pure_ops

ConstOp = Graph["const"]


def is_foldable(op: Operation, max_elements: int) -> bool:
    if not isinstance(op, TableOp) or isinstance(op, ConstOp) or not op.name.startswith("graph."):
        return False
    if not op.results or op.regions or op.ROW.reference is None:
        return False
    if not all(isinstance(v.owner, ConstOp) for v in op.operands):
        return False
    types = [r.type for r in op.results]
    if not all(isinstance(t, ShapedTypeMixin) and t.is_static for t in types):
        return False
    return sum(int(t.num_elements()) for t in types) <= max_elements


@dataclass(frozen=True)
class FoldConstants(ModulePass):
    """Evaluate ops over constants with the numpy references (up to max-elements results)."""

    name = "fold-constants"
    max_elements: int = 1 << 20

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        # One forward walk folds whole constant chains: an op's operands are folded before it.
        for candidate in list(op.walk()):
            if is_foldable(candidate, self.max_elements):
                fold(candidate)
        erase_dead_pure_ops(op)


def fold(op: TableOp) -> None:
    arrays = [constant_array(v) for v in op.operands]
    try:
        with np.errstate(all="ignore"):  # overflow or 0/0 fold to the values run time gives
            values = run_op(op, arrays)
    except LaminaError:
        return
    block = op.parent_block()
    for old, value in zip(op.results, values):
        t = old.type
        const = ConstOp.build([], {"value": np.asarray(value).astype(t.dtype, copy=False).reshape(t.shape)})
        const.location = op.location
        block.insert_op_before(const, op)
        const.results[0].name_hint = old.name_hint
        old.replace_all_uses_with(const.results[0])
    op.detach()
    op.erase()
