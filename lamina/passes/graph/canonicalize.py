"""`canonicalize`: algebraic simplification of graph ops to a fixpoint.

The rewrites themselves are the table in canonical_patterns.py. A sweep applies them to every op
once; sweeps repeat until one changes nothing, at most `max-iterations` times. Hitting the cap
is reported as a warning at an op the last sweep still rewrote, and the IR is left valid.
Pure ops that lose their last use are erased along the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriterListener, PatternRewriteWalker

from lamina.ir.diagnostics import LaminaError, emit_warning, location_of
from lamina.passes.graph.canonical_patterns import CANONICAL_PATTERNS
from lamina.passes.graph.support import erase_dead_pure_ops


@dataclass(frozen=True)
class Canonicalize(ModulePass):
    """Algebraic simplification by the rule table, to a fixpoint capped at max-iterations."""

    name = "canonicalize"
    max_iterations: int = 10

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.max_iterations < 1:
            raise LaminaError(f"canonicalize: max-iterations must be at least 1, got {self.max_iterations}")
        rewritten: list[Operation] = []

        def remember(replaced: Operation, _new_results: Sequence[SSAValue | None]) -> None:
            rewritten.append(replaced)

        listener = PatternRewriterListener(operation_replacement_handler=[remember])
        walker = PatternRewriteWalker(GreedyRewritePatternApplier(list(CANONICAL_PATTERNS)), apply_recursively=False, listener=listener)
        for _ in range(self.max_iterations):
            rewritten.clear()
            changed = walker.rewrite_module(op)
            erase_dead_pure_ops(op)
            if not changed:
                return
        location = location_of(rewritten[-1]) if rewritten else None
        emit_warning(f"canonicalize did not reach a fixpoint in {self.max_iterations} iterations (raise max-iterations)", location)
