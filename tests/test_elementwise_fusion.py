"""Elementwise fusion in the default schedule: elementwise producers inlined into elementwise
readers (a GELU's five ops become one block, then the matmul's epilogue), never where that
would compute an expensive op twice or broadcast it; results checked against numpy on the
compiled model and the graph interpreter."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lamina
from lamina.compiler import pipeline, run_passes, to_graph_module

GELU_AFTER_MATMUL = """
func.func @main(%a: tensor<{m} x 24 x f32>, %w: tensor<24 x 32 x f32>) -> tensor<{m} x 32 x f32> {{
  %h = graph.matmul %a, %w : tensor<{m} x 32 x f32>
  %half = graph.const dense<0.5> : tensor<f32>
  %root = graph.const dense<1.41421356> : tensor<f32>
  %one = graph.const dense<1.0> : tensor<f32>
  %x1 = graph.mul %h, %half : tensor<{m} x 32 x f32>
  %x2 = graph.div %h, %root : tensor<{m} x 32 x f32>
  %x3 = graph.erf %x2 : tensor<{m} x 32 x f32>
  %x4 = graph.add %x3, %one : tensor<{m} x 32 x f32>
  %y = graph.mul %x1, %x4 : tensor<{m} x 32 x f32>
  func.return %y : tensor<{m} x 32 x f32>
}}
"""

EXP_READ_TWICE = """
func.func @main(%a: tensor<16 x 16 x f32>) -> tensor<16 x 16 x f32> {
  %e = graph.exp %a : tensor<16 x 16 x f32>
  %t = graph.transpose %e {perm = [1, 0]} : tensor<16 x 16 x f32>
  %y = graph.mul %e, %t : tensor<16 x 16 x f32>
  func.return %y : tensor<16 x 16 x f32>
}
"""

EXP_SQUARED = """
func.func @main(%a: tensor<16 x 32 x f32>) -> tensor<16 x 32 x f32> {
  %e = graph.exp %a : tensor<16 x 32 x f32>
  %y = graph.mul %e, %e : tensor<16 x 32 x f32>
  func.return %y : tensor<16 x 32 x f32>
}
"""

BROADCAST_READ = """
func.func @main(%a: tensor<32 x f32>, %b: tensor<16 x 32 x f32>) -> tensor<16 x 32 x f32> {
  %e = graph.relu %a : tensor<32 x f32>
  %y = graph.add %b, %e : tensor<16 x 32 x f32>
  func.return %y : tensor<16 x 32 x f32>
}
"""

# attention heads as exporters write them: Split of a fused projection, then reshape + transpose
SPLIT_HEADS = """
func.func @main(%qkv: tensor<1 x 8 x 48 x f32>) -> (tensor<1 x 2 x 8 x 8 x f32>, tensor<1 x 2 x 8 x 8 x f32>, tensor<1 x 8 x 16 x f32>) {
  %q, %k, %v = graph.split %qkv {axis = 2, sizes = [16, 16, 16]}
  %qr = graph.reshape %q {shape = [1, 8, 2, 8]}
  %qh = graph.transpose %qr {perm = [0, 2, 1, 3]}
  %vr = graph.reshape %v {shape = [1, 8, 2, 8]}
  %vh = graph.transpose %vr {perm = [0, 2, 1, 3]}
  %y = graph.relu %vh
  %k2 = graph.add %k, %k
  func.return %qh, %y, %k2 : tensor<1 x 2 x 8 x 8 x f32>, tensor<1 x 2 x 8 x 8 x f32>, tensor<1 x 8 x 16 x f32>
}
"""

def scheduled_blocks(text: str) -> list[str]:
    module = to_graph_module(text)
    run_passes(module, [s for s in pipeline(3, 2) if not s.startswith("lower-loop-to-device")])
    fn = next(iter(module.ops))
    nests = [op for op in fn.body.block.ops if op.name == "loop.for"]
    return [[op.attr("label") for op in nest.walk() if op.name == "loop.block"] for nest in nests]


def erf(x):
    return np.vectorize(math.erf)(x).astype(np.float32)


def gelu(h):
    return (h * 0.5) * (erf(h / np.float32(1.41421356)) + 1)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("m", ["20", "n"])
def test_gelu_chain_becomes_the_matmul_epilogue(m):
    nests = scheduled_blocks(GELU_AFTER_MATMUL.format(m=m))
    assert len(nests) == 1, f"one nest: the matmul with the whole GELU inside its tile, got {nests}"
    labels = set(nests[0])
    assert not labels & {"mul", "div", "erf", "add", "mul_full", "div_full", "erf_full", "add_full"}
    assert "mul_1" in labels, "the last op of the chain is the block that remains"


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("rows", [20, 7])
def test_gelu_chain_computes_gelu(target, rows):
    model = lamina.compile(GELU_AFTER_MATMUL.format(m="n"), target=target, threads=2)
    a, w = rand(rows, 24), rand(24, 32, seed=1)
    np.testing.assert_allclose(model(a, w)[0], gelu(a @ w), rtol=1e-4, atol=1e-5)


def test_expensive_producer_read_twice_stays_its_own_nest():
    nests = scheduled_blocks(EXP_READ_TWICE)
    assert ["exp"] in nests, f"exp (read by the mul at [i, j] and, through the transpose, at [j, i]) is computed once, got {nests}"
    assert not any("transpose" in labels for labels in nests), "the cheap transpose is inlined into the mul"
    a = rand(16, 16)
    out = lamina.compile(EXP_READ_TWICE, threads=2)(a)[0]
    np.testing.assert_allclose(out, np.exp(a) * np.exp(a).T, rtol=1e-5)


def test_one_element_read_twice_is_loaded_once():
    """mul(e, e): the rule's two reads of one element are one load, so exp has a single reader
    load and joins the mul's nest instead of being computed twice or stored."""
    nests = scheduled_blocks(EXP_SQUARED)
    assert nests == [["mul"]], nests
    a = rand(16, 32)
    np.testing.assert_allclose(lamina.compile(EXP_SQUARED, threads=2)(a)[0], np.exp(a) * np.exp(a), rtol=1e-5)


def test_broadcast_producer_is_not_inlined():
    nests = scheduled_blocks(BROADCAST_READ)
    assert ["relu"] in nests, f"a relu over 32 elements read by 16 x 32 is not recomputed 16 times, got {nests}"
    a, b = rand(32), rand(16, 32, seed=1)
    np.testing.assert_allclose(lamina.compile(BROADCAST_READ, threads=2)(a, b)[0], b + np.maximum(a, 0), rtol=1e-6)


def test_copies_are_inlined_into_readers_however_they_index_them():
    """A split writes q, k and v only to be read by their transposes at `h*8 + d`: each copy
    joins its reader's nest, whose load reads the projection itself."""
    nests = scheduled_blocks(SPLIT_HEADS)
    labels = [label for nest in nests for label in nest]
    assert not any(label.startswith(("split", "reshape")) for label in labels), nests
    assert len(nests) == 3, f"one nest per output (the v transpose inside the relu, the k slice inside the add), got {nests}"
    qkv = rand(1, 8, 48)
    qh, y, k2 = lamina.compile(SPLIT_HEADS, threads=2)(qkv)
    heads = lambda t: t.reshape(1, 8, 2, 8).transpose(0, 2, 1, 3)
    np.testing.assert_array_equal(qh, heads(qkv[:, :, :16]))
    np.testing.assert_array_equal(y, np.maximum(heads(qkv[:, :, 32:]), 0))
    np.testing.assert_array_equal(k2, qkv[:, :, 16:32] * 2)

