"""Reductions along the contiguous last axis run as vector reductions (four vectors of partial results,
one horizontal reduce, a scalar tail): they must match numpy for every row length — shorter than
a vector, a whole number of vectors, or with a tail — on both CPU targets and thread counts,
keep NaN in a max, and leave reductions they do not fit (over several axes, over a leading axis)
on the scalar path with the same results."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
from lamina.compiler import run_passes
from lamina.ir.printer import print_module
from lamina.parser import parse_module


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def layer_norm(x):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-5)


OPS = {
    "reduce_sum": ("graph.reduce_sum %x {axes = [1], keepdims = false}", lambda x: x.sum(1), "{r}"),
    "reduce_max": ("graph.reduce_max %x {axes = [1], keepdims = false}", lambda x: x.max(1), "{r}"),
    "reduce_min": ("graph.reduce_min %x {axes = [1], keepdims = false}", lambda x: x.min(1), "{r}"),
    "reduce_mean": ("graph.reduce_mean %x {axes = [1]}", lambda x: x.mean(1, keepdims=True), "{r}x1"),
    "softmax": ("graph.softmax %x {axis = -1}", softmax, "{r}x{c}"),
    "layer_norm": ("graph.layer_norm %x", layer_norm, "{r}x{c}"),
}


def source(op: str, rows: int, cols: int) -> str:
    expr, _, shape = OPS[op]
    out = shape.format(r=rows, c=cols)
    return f"""
func.func @f(%x: tensor<{rows}x{cols}xf32>) -> tensor<{out}xf32> {{
  %y = {expr} : tensor<{out}xf32>
  func.return %y : tensor<{out}xf32>
}}"""


def check(op: str, rows: int, cols: int, target: str = "llvm", threads: int = 1, seed: int = 0) -> None:
    x = np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float32)
    got = lamina.compile(source(op, rows, cols), target=target, threads=threads)(x)[0]
    want = OPS[op][1](x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("cols", [3, 8, 35, 45, 256])  # tail only, one vector, 32 + tail, 32 + 8 + tail, 8 x 32
def test_row_reductions_match_numpy(op, cols):
    check(op, 5, cols)


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
def test_row_reductions_on_both_targets_and_thread_counts(target, threads):
    for op in ("softmax", "layer_norm", "reduce_max"):
        check(op, 64, 131, target, threads)


def device_text(text: str) -> str:
    module = parse_module(text)
    run_passes(module, ["lower-graph-to-loop", "default-schedule{threads=1}", "lower-loop-to-device"])
    return print_module(module)


def test_row_sum_is_a_vector_reduction_and_a_column_sum_is_not():
    assert "device.vreduce" in device_text(source("reduce_sum", 4, 64))
    columns = """
func.func @f(%x: tensor<64x4xf32>) -> tensor<4xf32> {
  %y = graph.reduce_sum %x {axes = [0], keepdims = false} : tensor<4xf32>
  func.return %y : tensor<4xf32>
}"""
    assert "device.vreduce" not in device_text(columns)


def test_max_keeps_nan_in_any_lane_and_the_tail():
    x = np.random.default_rng(1).standard_normal((3, 35)).astype(np.float32)
    x[0, 5] = np.nan  # in a vector
    x[1, 33] = np.nan  # in the scalar tail
    got = lamina.compile(source("reduce_max", 3, 35), threads=1)(x)[0]
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == x[2].max()


def test_reduction_over_two_axes_stays_scalar_and_correct():
    text = """
func.func @f(%x: tensor<3x5x40xf32>) -> tensor<3xf32> {
  %y = graph.reduce_sum %x {axes = [1, 2], keepdims = false} : tensor<3xf32>
  func.return %y : tensor<3xf32>
}"""
    x = np.random.default_rng(2).standard_normal((3, 5, 40)).astype(np.float32)
    np.testing.assert_allclose(lamina.compile(text, threads=1)(x)[0], x.astype(np.float64).sum((1, 2)), rtol=1e-5, atol=1e-5)


@settings(max_examples=12, deadline=None)
@given(op=st.sampled_from(sorted(OPS)), rows=st.integers(1, 9), cols=st.integers(1, 70), seed=st.integers(0, 100))
def test_row_reductions_property(op, rows, cols, seed):
    check(op, rows, cols, seed=seed)
