"""`winograd-conv`: a 3x3 stride-1 conv2d with constant weights becomes Winograd F(m x m, 3x3)
(`lamina.dialects.winograd`), m = 4 or 2: (m+2)^2 batched GEMMs against weights transformed at
compile time, between an input and an output transform, in channel-innermost layouts:

    transpose(x, NHWC) -> pad -> winograd_input -> matmul(., U) -> winograd_output -> transpose(NCHW)

The GEMMs do 16 multiply-adds per 2x2 outputs and channel pair (F(2x2)), or 36 per 4x4 (F(4x4)),
where the direct conv does 36 or 144. Transposes next to each other, or around elementwise ops,
cancel in `canonicalize`.

Only where it pays (measured on the ResNet shapes, `bench`): enough tiles for the GEMM rows
(`tiles_that_pay(host)`, fewer on a host with less arithmetic per byte loaded) and enough
channels for its vectors and reduction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.dialects import winograd
from lamina.ir.types import TensorType, f32
from lamina.passes.graph.split_conv_bias import channel_bias
from lamina.passes.graph.support import build, constant_array
from lamina.targets.host import HostTarget, host_target

# How many tiles pay depends on the flops a core does per byte it loads: below the count, the GEMM's
# rows do not amortize the transformed weights, which stream from memory in a model too big for
# the caches (each weight serves one GEMM row per tile, where the direct conv uses it at every
# output position).
#
# F(2x2, 3x3)'s transformed weights are 16/9 the size of the kernel's. A host computing 512-bit
# vectors at full rate (Zen 5) needs 25 tiles; measured there, 512 channels, cache flushed
# between calls (ms, min, t=1 / t=2):
#   7x7 output (16 tiles):   Winograd 1.39 / 0.99   direct 1.27 / 0.72
#   10x10 output (25 tiles): Winograd 1.81 / 1.23   direct 2.45 / 1.42
# and ResNet-18 with its 7x7 stage direct: t=2 min 8.00 -> 7.38 ms, t=1 13.76 -> 13.55 ms.
# With half that arithmetic per cycle (AVX2, or Zen 4 splitting 512-bit vectors), 16 pay: on a
# Zen 4, ResNet-18 with its 7x7 stage Winograd, median t=1 21.3 -> 18.2 ms, t=2 11.7 -> 10.9
# (with 256-bit vectors 22.6 -> 21.1, 14.2 -> 13.2; in one process, interleaved). A 6x6 output
# (9 tiles) pads to 8x8 and computes 16 * 9 products for 36 outputs. The 7x7 stage's weight
# transforms raise ResNet-18's compile time from 10.8 to 13.5-14.7 s.
#
# F(4x4, 3x3) takes 36 products per 16 outputs where F(2x2, 3x3) takes 64, and its transformed
# tiles are 36/16 the outputs' size where F(2x2)'s are 4x; its transformed weights are 4x the
# kernel's. Measured on Zen 5 (ms, min, cache flushed between calls, t=2; F(4x4) / F(2x2)):
#   28x28, 128 channels (49 tiles): 0.355 / 0.445     28x28, 256 channels: 1.31 / 1.48
#   14x14, 256 channels (16 tiles): 0.459 / 0.417
# and ResNet-18, its 56x56 and 28x28 stages F(4x4): t=1 min 13.15 -> 11.66 ms, t=2 7.25 -> 6.23.
# At half the arithmetic rate (Zen 4), the 14x14 stage's 16 tiles pay too: 256 channels at
# 14x14, median t=1 0.99 -> 0.82 ms, t=2 0.52 -> 0.49; ResNet-18 t=1 18.3 -> 18.0, t=2 10.6 -> 10.4.
# Its error is about 1e-5 of the outputs' magnitude, against 5e-7 for F(2x2) (ResNet-18's
# logits: 6e-6 from onnxruntime's, 5e-6 with F(2x2) only).


class TilesThatPay(NamedTuple):
    """The fewest output tiles (summed over the batch) for which each variant beats the direct conv."""

    large: int  # F(4x4, 3x3)'s 4x4 tiles
    small: int  # F(2x2, 3x3)'s 2x2 tiles


FULL_RATE_512_BIT = TilesThatPay(large=49, small=25)
HALF_RATE = TilesThatPay(large=16, small=16)
# The GEMMs vectorize along output channels and reduce over input channels.
MIN_CHANNELS = 16


def tiles_that_pay(host: HostTarget) -> TilesThatPay:
    return FULL_RATE_512_BIT if host.full_rate_vector_bits >= 512 else HALF_RATE


def output_tile(op: Operation, fewest_tiles: TilesThatPay) -> int | None:
    """The m of the F(m x m, 3x3) that pays for this op, or None where none does."""
    if op.name != "graph.conv2d":
        return None
    x, weight = op.operands[0].type, op.operands[1].type
    if not isinstance(x, TensorType) or x.element_type != f32 or not all(isinstance(d, int) for d in x.shape):
        return None
    if constant_array(op.operands[1]) is None or tuple(weight.shape[2:]) != (3, 3):
        return None
    a = op.attr_values()
    if tuple(a["strides"]) != (1, 1) or tuple(a["dilations"]) != (1, 1) or a["groups"] != 1:
        return None
    out_channels, in_channels = weight.shape[:2]
    if min(in_channels, out_channels) < MIN_CHANNELS:
        return None
    n, _, height, width = op.results[0].type.shape
    for out, fewest in ((4, fewest_tiles.large), (2, fewest_tiles.small)):
        th, tw = winograd.tile_counts(height, width, out)
        if n * th * tw >= fewest:
            return out
    return None


@dataclass
class WinogradConv(RewritePattern):
    fewest_tiles: TilesThatPay

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        out = output_tile(op, self.fewest_tiles)
        if out is None:
            return
        x, weight = op.operands[0], op.operands[1]
        top, left, _, _ = op.attr_values()["pads"]
        _, _, in_h, in_w = x.type.shape
        _, _, height, width = op.results[0].type.shape
        th, tw = winograd.tile_counts(height, width, out)
        # Tiles read m*TH + 2 rows: the pad covers the conv's and what the last tile overhangs.
        bottom, right = out * th + 2 - in_h - top, out * tw + 2 - in_w - left
        nhwc = build(rewriter, op, "transpose", [x], {"perm": [0, 2, 3, 1]})
        padded = build(rewriter, op, "pad", [nhwc.results[0]], {"pads": [0, top, left, 0, 0, bottom, right, 0]})
        tiles = build(rewriter, op, "winograd_input", [padded.results[0]], {"tiles": [th, tw], "output_tile": out})
        u = build(rewriter, op, "const", [], {"value": winograd.transform_weights(constant_array(weight), out)})
        products = build(rewriter, op, "matmul", [tiles.results[0], u.results[0]], {})
        out = build(rewriter, op, "winograd_output", [products.results[0]], {"size": [height, width]})
        result = build(rewriter, op, "transpose", [out.results[0]], {"perm": [0, 3, 1, 2]}).results[0]
        if len(op.operands) == 3:
            result = build(rewriter, op, "add", [result, channel_bias(rewriter, op, op.operands[2])], {}).results[0]
        rewriter.replace(op, [], [result])


@dataclass(frozen=True)
class WinogradConvPass(ModulePass):
    """3x3 stride-1 convs with constant weights and enough tiles become Winograd F(4x4, 3x3) or F(2x2, 3x3): transforms around 36 or 16 batched GEMMs."""

    name = "winograd-conv"
    # The fewest tiles worth F(4x4, 3x3) and F(2x2, 3x3); 0: what pays on this host (tiles_that_pay).
    min_large_tiles: int = 0
    min_tiles: int = 0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        paying_here = tiles_that_pay(host_target())
        fewest = TilesThatPay(self.min_large_tiles or paying_here.large, self.min_tiles or paying_here.small)
        PatternRewriteWalker(WinogradConv(fewest), apply_recursively=False).rewrite_module(op)
