"""`split-conv-bias`: conv2d(x, w, b) becomes add(conv2d(x, w), b reshaped to [O, 1, 1]).

conv2d lowers its bias as a second statement that updates the conv's output in place. A buffer
written by two blocks and then read by a third (the ReLU, the slice of widened rows) is one the
epilogue fusion cannot move into the conv's register tile, so every conv of an exported model
(batch norm folded into a bias) paid separate passes over its output for the bias, the ReLU and
the residual add. As a separate elementwise `add` the bias joins that chain and runs in the tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.passes.graph.support import build, constant_array


def channel_bias(rewriter: PatternRewriter, at: Operation, bias: SSAValue) -> SSAValue:
    """bias [O] as [O, 1, 1], which broadcasts over an NCHW tensor's channels; built before `at`."""
    channels = [bias.type.shape[0], 1, 1]
    values = constant_array(bias)
    if values is not None:
        return build(rewriter, at, "const", [], {"value": np.ascontiguousarray(values.reshape(channels))}).results[0]
    return build(rewriter, at, "reshape", [bias], {"shape": channels}).results[0]


@dataclass
class SplitConvBias(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.name != "graph.conv2d" or len(op.operands) != 3:
            return
        x, weight, bias = op.operands
        per_channel = channel_bias(rewriter, op, bias)
        conv = build(rewriter, op, "conv2d", [x, weight], op.attr_values())
        add = build(rewriter, op, "add", [conv.results[0], per_channel], {})
        rewriter.replace(op, [], [add.results[0]])


@dataclass(frozen=True)
class SplitConvBiasPass(ModulePass):
    """conv2d with a bias becomes conv2d followed by a broadcast add, which fuses into the conv's tile with what follows."""

    name = "split-conv-bias"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(SplitConvBias(), apply_recursively=False).rewrite_module(op)
