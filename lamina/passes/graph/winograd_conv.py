"""`winograd-conv`: a 3x3 stride-1 conv2d with constant weights becomes Winograd F(2x2, 3x3)
(`lamina.dialects.winograd`): 16 batched GEMMs against weights transformed at compile time,
between an input and an output transform, in channel-innermost layouts:

    transpose(x, NHWC) -> pad -> winograd_input -> matmul(., U) -> winograd_output -> transpose(NCHW)

The GEMMs do 16 multiply-adds per 2x2 outputs and channel pair where the direct conv does 36.
Transposes next to each other, or around elementwise ops, cancel in `canonicalize`.

Only where it pays (measured on the ResNet shapes, `bench`): enough tiles for the GEMM rows
(MIN_TILES) and enough channels for its vectors and reduction.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.dialects import winograd
from lamina.ir.types import TensorType, f32
from lamina.passes.graph.split_conv_bias import channel_bias
from lamina.passes.graph.support import build, constant_array

# Fewer tiles than this and the GEMM's rows do not amortize the transformed weights, which are
# 16/9 the size of the kernel's and stream from memory in a model too big for the caches: each
# weight serves one GEMM row per tile, where the direct conv uses it at every output position.
# Measured on Zen 5, 512 channels, cache flushed between calls (ms, min, t=1 / t=2):
#   7x7 output (16 tiles):   Winograd 1.39 / 0.99   direct 1.27 / 0.72
#   10x10 output (25 tiles): Winograd 1.81 / 1.23   direct 2.45 / 1.42
# and ResNet-18 with its 7x7 stage direct: t=2 min 8.00 -> 7.38 ms, t=1 13.76 -> 13.55 ms (in
# one process, interleaved). On Zen 4, with half the arithmetic per cycle, 16 tiles had paid.
MIN_TILES = 25
# The GEMMs vectorize along output channels and reduce over input channels.
MIN_CHANNELS = 16


def qualifies(op: Operation) -> bool:
    if op.name != "graph.conv2d":
        return False
    x, weight = op.operands[0].type, op.operands[1].type
    if not isinstance(x, TensorType) or x.element_type != f32 or not all(isinstance(d, int) for d in x.shape):
        return False
    if constant_array(op.operands[1]) is None or tuple(weight.shape[2:]) != (3, 3):
        return False
    a = op.attr_values()
    if tuple(a["strides"]) != (1, 1) or tuple(a["dilations"]) != (1, 1) or a["groups"] != 1:
        return False
    n, _, height, width = op.results[0].type.shape
    th, tw = winograd.tile_counts(height, width)
    out_channels, in_channels = weight.shape[:2]
    return n * th * tw >= MIN_TILES and min(in_channels, out_channels) >= MIN_CHANNELS


@dataclass
class WinogradConv(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not qualifies(op):
            return
        x, weight = op.operands[0], op.operands[1]
        top, left, _, _ = op.attr_values()["pads"]
        _, _, in_h, in_w = x.type.shape
        _, _, height, width = op.results[0].type.shape
        th, tw = winograd.tile_counts(height, width)
        # Tiles read 2*TH + 2 rows: the pad covers the conv's and what the last tile overhangs.
        bottom, right = 2 * th + 2 - in_h - top, 2 * tw + 2 - in_w - left
        nhwc = build(rewriter, op, "transpose", [x], {"perm": [0, 2, 3, 1]})
        padded = build(rewriter, op, "pad", [nhwc.results[0]], {"pads": [0, top, left, 0, 0, bottom, right, 0]})
        tiles = build(rewriter, op, "winograd_input", [padded.results[0]], {"tiles": [th, tw]})
        u = build(rewriter, op, "const", [], {"value": winograd.transform_weights(constant_array(weight))})
        products = build(rewriter, op, "matmul", [tiles.results[0], u.results[0]], {})
        out = build(rewriter, op, "winograd_output", [products.results[0]], {"size": [height, width]})
        result = build(rewriter, op, "transpose", [out.results[0]], {"perm": [0, 3, 1, 2]}).results[0]
        if len(op.operands) == 3:
            result = build(rewriter, op, "add", [result, channel_bias(rewriter, op, op.operands[2])], {}).results[0]
        rewriter.replace(op, [], [result])


@dataclass(frozen=True)
class WinogradConvPass(ModulePass):
    """3x3 stride-1 convs with constant weights and enough tiles become Winograd F(2x2, 3x3): transforms around 16 batched GEMMs."""

    name = "winograd-conv"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(WinogradConv(), apply_recursively=False).rewrite_module(op)
