"""Unsigned element types (ui8 ... ui64) are compared, divided, reduced, widened and converted as
unsigned in compiled code: values at and above 2**(bits-1) are where signed code goes wrong."""

import numpy as np
import pytest

import lamina
from lamina.interpreter.graph import run_function
from lamina.parser import parse_module

DTYPES = {"ui8": np.uint8, "ui16": np.uint16, "ui32": np.uint32, "ui64": np.uint64}


def program(t: str) -> str:
    return f"""
func.func @main(%a: tensor<6x{t}>, %b: tensor<6x{t}>) -> (tensor<6x{t}>, tensor<6x{t}>, tensor<6xi1>, tensor<6xi1>, tensor<6xf64>, tensor<1x{t}>, tensor<1x{t}>, tensor<6xi64>) {{
  %mx = graph.maximum %a, %b : tensor<6x{t}>
  %mn = graph.minimum %a, %b : tensor<6x{t}>
  %lt = graph.less %a, %b : tensor<6xi1>
  %ge = graph.greater_equal %a, %b : tensor<6xi1>
  %f = graph.cast %a {{to = f64}} : tensor<6xf64>
  %rmax = graph.reduce_max %a {{axes = [0]}} : tensor<1x{t}>
  %rmin = graph.reduce_min %a {{axes = [0]}} : tensor<1x{t}>
  %w = graph.cast %b {{to = i64}} : tensor<6xi64>
  func.return %mx, %mn, %lt, %ge, %f, %rmax, %rmin, %w : tensor<6x{t}>, tensor<6x{t}>, tensor<6xi1>, tensor<6xi1>, tensor<6xf64>, tensor<1x{t}>, tensor<1x{t}>, tensor<6xi64>
}}
"""


def operands(dtype):
    top = np.iinfo(dtype).max
    a = np.array([top, 1, top // 2 + 1, 0, 7, top - 3], dtype)
    b = np.array([1, top, 3, top // 2 + 2, 7, 2], dtype)
    return a, b


def expected(a, b):
    return [np.maximum(a, b), np.minimum(a, b), a < b, a >= b, a.astype(np.float64), a.max(keepdims=True), a.min(keepdims=True), b.astype(np.int64)]


@pytest.mark.parametrize("t", list(DTYPES))


@pytest.mark.parametrize("target", ["llvm", "c"])
def test_unsigned_ops_compiled_match_numpy(t, target):
    a, b = operands(DTYPES[t])
    module = parse_module(program(t))
    want = expected(a, b)
    for got in (run_function(module, a, b), lamina.compile(program(t), target=target, threads=1)(a, b)):
        for g, w in zip(got, want):
            assert np.asarray(g).dtype == w.dtype
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("t", list(DTYPES))
def test_unsigned_division_and_remainder_compiled(t):
    a, b = operands(DTYPES[t])
    src = f"""
func.func @main(%a: tensor<6x{t}>, %b: tensor<6x{t}>) -> (tensor<6x{t}>, tensor<6x{t}>) {{
  %q = graph.div %a, %b : tensor<6x{t}>
  %r = graph.mod %a, %b : tensor<6x{t}>
  func.return %q, %r : tensor<6x{t}>, tensor<6x{t}>
}}
"""
    q, r = lamina.compile(src, threads=1)(a, b)
    np.testing.assert_array_equal(q, a // b)
    np.testing.assert_array_equal(r, a % b)


def test_max_pool_of_uint8_pads_with_zero_not_minus_128():
    x = np.array([[[[200, 10], [255, 128]]]], np.uint8)
    src = """
func.func @main(%x: tensor<1x1x2x2xui8>) -> tensor<1x1x2x2xui8> {
  %y = graph.max_pool2d %x {kernel = [2, 2], pads = [1, 1, 0, 0]} : tensor<1x1x2x2xui8>
  func.return %y : tensor<1x1x2x2xui8>
}
"""
    (got,) = lamina.compile(src, threads=1)(x)
    np.testing.assert_array_equal(got, [[[[200, 200], [255, 255]]]])
