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
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.passes.graph.support import build, constant_array


@dataclass
class SplitConvBias(RewritePattern):
    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if op.name != "graph.conv2d" or len(op.operands) != 3:
            return
        x, weight, bias = op.operands
        channels = [bias.type.shape[0], 1, 1]
        values = constant_array(bias)
        if values is not None:
            per_channel = build(rewriter, op, "const", [], {"value": np.ascontiguousarray(values.reshape(channels))})
        else:
            per_channel = build(rewriter, op, "reshape", [bias], {"shape": channels})
        conv = build(rewriter, op, "conv2d", [x, weight], op.attr_values())
        add = build(rewriter, op, "add", [conv.results[0], per_channel.results[0]], {})
        rewriter.replace(op, [], [add.results[0]])


@dataclass(frozen=True)
class SplitConvBiasPass(ModulePass):
    """conv2d with a bias becomes conv2d followed by a broadcast add, which fuses into the conv's tile with what follows."""

    name = "split-conv-bias"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(SplitConvBias(), apply_recursively=False).rewrite_module(op)
