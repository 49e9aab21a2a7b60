"""`explicit-padding`: a padded conv2d becomes `pad` followed by an unpadded conv2d.

The padded form guards every input read against the borders, which keeps the innermost loop
from vectorizing; reading from a zero-bordered copy costs one extra pass over the input and
leaves the conv loops guard-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.passes.graph.support import build


class PadConvInput(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.name != "graph.conv2d":
            return
        top, left, bottom, right = op.attr("pads")
        if not any((top, left, bottom, right)):
            return
        x = op.operands[0]
        padded = build(rewriter, op, "pad", [x], {"pads": [0, 0, top, left, 0, 0, bottom, right]})
        attrs = op.attr_values()
        attrs["pads"] = [0, 0, 0, 0]
        conv = build(rewriter, op, "conv2d", [padded.results[0], *op.operands[1:]], attrs)
        rewriter.replace(op, [], [conv.results[0]])


@dataclass(frozen=True)
class ExplicitPadding(ModulePass):
    """Padded conv2d becomes pad + unpadded conv2d, so the conv loops vectorize."""

    name = "explicit-padding"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(PadConvInput(), apply_recursively=False).rewrite_module(op)
