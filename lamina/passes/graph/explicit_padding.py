"""`explicit-padding`: a padded conv2d becomes `pad` followed by an unpadded conv2d (a padded
float max pool likewise, bordered with -inf).

The padded form guards every input read against the borders, which keeps the innermost loop
from vectorizing; reading from a zero-bordered copy costs one extra pass over the input and
leaves the conv loops guard-free.

An output row whose width is not a multiple of the vector width (7, 14, 28 in a ResNet) would
end every row in a scalar tail; the input gets enough extra zero columns on the right that the
conv computes whole vectors, and a slice drops the extra output columns. The widening costs at
most lanes-1 columns of work per row (`widen=false` turns it off).
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import GreedyRewritePatternApplier, PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.lowering.register_tiling import channel_tile_rows, unshared_max_lanes
from lamina.ir.types import is_float
from lamina.passes.graph.support import build, constant_array
from lamina.targets.host import host_target


def extra_columns(op: Operation, lanes: int) -> int:
    """Output columns that round a static conv2d output row up to whole vectors."""
    out = op.results[0].type
    if lanes <= 1 or not out.is_static or len(out.shape) != 4:
        return 0
    width = out.shape[3]
    if op.attr("groups") > 1:
        lanes = unshared_max_lanes(lanes)  # the vectors a grouped conv's tile takes
    if op.attr("groups") == 1 and constant_array(op.operands[1]) is not None and channel_tile_rows(out.shape[1], out.shape[2], width, lanes):
        return 0  # the conv's tile runs its vectors along the output channels
    return 0 if width % lanes == 0 or width < lanes // 2 else lanes - width % lanes


def on_padded_input(rewriter: PatternRewriter, op: Operation, pads: list[int], fill: float = 0.0) -> Operation:
    """op (a conv or a pool, NCHW) rebuilt unpadded on a copy of its input padded by `pads`
    (top, left, bottom, right) with `fill`; inserted before op, which the caller replaces."""
    top, left, bottom, right = pads
    padded = build(rewriter, op, "pad", [op.operands[0]], {"pads": [0, 0, top, left, 0, 0, bottom, right], "value": fill})
    attrs = op.attr_values()
    attrs["pads"] = [0, 0, 0, 0]
    return build(rewriter, op, op.name.removeprefix("graph."), [padded.results[0], *op.operands[1:]], attrs)


@dataclass
class PadConvInput(RewritePattern):
    lanes: int = 1

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.name != "graph.conv2d":
            return
        top, left, bottom, right = op.attr("pads")
        extra = extra_columns(op, self.lanes)
        if not any((top, left, bottom, right, extra)):
            return
        result = on_padded_input(rewriter, op, [top, left, bottom, right + extra * op.attr("strides")[1]]).results[0]
        if extra:
            width = op.results[0].type.shape[3]
            result = build(rewriter, op, "slice", [result], {"starts": [0], "ends": [width], "axes": [3]}).results[0]
        rewriter.replace(op, [], [result])


class PadMaxPoolInput(RewritePattern):
    """A padded float max pool reads a copy bordered with -inf: its window loads, unguarded,
    are affine (stride-2 windows load as two vectors and a shuffle rather than lane by lane)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.name != "graph.max_pool2d" or not any(op.attr("pads")) or not is_float(op.operands[0].type.element_type):
            return
        rewriter.replace(op, [], [on_padded_input(rewriter, op, list(op.attr("pads")), float("-inf")).results[0]])


@dataclass(frozen=True)
class ExplicitPadding(ModulePass):
    """Padded conv2d becomes pad + unpadded conv2d (output rows widened to whole vectors), so the conv loops vectorize."""

    name = "explicit-padding"
    widen: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lanes = host_target().vector_lanes(4) if self.widen else 1
        PatternRewriteWalker(GreedyRewritePatternApplier([PadConvInput(lanes), PadMaxPoolInput()]), apply_recursively=False).rewrite_module(op)
