"""Integer constants at the ends of their range reach C as valid expressions (C has no
literal for INT64_MIN: a max-reduction over i64 starts from it), and compute what the
interpreter computes."""

import shutil
import subprocess

import numpy as np
import pytest

import lamina
from lamina.interpreter.graph import run_function
from lamina.parser import parse_module

TEXT = """
func.func @f(%x: tensor<2x3xi64>) -> (tensor<2xi64>, tensor<2xi64>) {
  %hi = graph.reduce_max %x {axes = [1], keepdims = false} : tensor<2xi64>
  %lo = graph.reduce_min %x {axes = [1], keepdims = false} : tensor<2xi64>
  func.return %hi, %lo : tensor<2xi64>, tensor<2xi64>
}
"""


@pytest.mark.parametrize("target", ["c", "llvm"])
def test_int64_extremes_compile(target):
    x = np.array([[-(2**63), -(2**63), -(2**63)], [2**63 - 1, -2147483649, 7]], np.int64)
    want = run_function(parse_module(TEXT), x)
    np.testing.assert_array_equal(want[0], x.max(axis=1))
    np.testing.assert_array_equal(want[1], x.min(axis=1))
    for got, expected in zip(lamina.compile(TEXT, target=target, threads=1)(x), want):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_int64_min_is_valid_c99(tmp_path):
    source = tmp_path / "model.c"
    source.write_text(lamina.compile(TEXT, target="c", threads=1).source)
    flags = ["-std=c99", "-pedantic-errors", "-DLAMINA_PORTABLE_C", "-fsyntax-only"]
    proc = subprocess.run(["cc", *flags, str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
