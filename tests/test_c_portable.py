"""The c target's source is C99 that builds without GCC's extensions: its vector code has a
lane-by-lane branch taken by compilers other than GCC/Clang (or by any with
-DLAMINA_PORTABLE_C). That branch is built here with the extensions made unusable (attributes
defined away, __builtin_convertvector and _Float16 poisoned) under -std=c99 -pedantic-errors,
loaded, and must compute what the vector-extension build and the interpreter compute."""

import os
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings

import lamina
from lamina.interpreter.graph import run_function
from lamina.ir.printer import print_module
from lamina.parser import parse_module
from lamina.runtime.loader import LoadedModel
from lamina.testing import assert_results_match, graph_functions, inputs_for

pytestmark = pytest.mark.skipif(not any(os.access(os.path.join(d, "cc"), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep)), reason="no cc")

# Every extension the vector branch uses, made an error or a no-op for the portable branch.
C99_ONLY = [
    "-std=c99",
    "-pedantic-errors",
    "-DLAMINA_PORTABLE_C",
    "-D__attribute__(x)=",
    "-D__builtin_convertvector=lamina_not_c99_builtin_convertvector",
    "-D_Float16=lamina_not_c99_Float16",
]

# Vector code of many kinds: broadcasts and FMAs (matmul), lane-mapped libm calls (exp, tanh,
# erf), vector reductions (softmax, reduce_max), comparisons and selects (relu, where),
# conversions (cast), integer arithmetic.
MIXED = """
func.func @mixed(%x: tensor<n x 16 x f32>, %w: tensor<16 x 16 x f32>, %k: tensor<n x 16 x i32>) -> (tensor<n x 16 x f32>, tensor<n x f32>, tensor<n x 16 x i32>, tensor<n x 16 x f32>) {
  %h = graph.matmul %x, %w
  %r = graph.relu %h
  %s = graph.softmax %r {axis = 1}
  %t = graph.tanh %x
  %e = graph.erf %t
  %g = graph.greater %x, %e
  %m = graph.where %g, %x, %e
  %red = graph.reduce_max %m {axes = [1], keepdims = false}
  %kf = graph.cast %k {to = f32}
  %sum = graph.add %kf, %s
  %ki = graph.cast %sum {to = i32}
  %kk = graph.mul %ki, %k
  %ex = graph.exp %m
  func.return %s, %red, %kk, %ex : tensor<n x 16 x f32>, tensor<n x f32>, tensor<n x 16 x i32>, tensor<n x 16 x f32>
}
"""


def build_portable(model, tmp_path) -> LoadedModel:
    source = tmp_path / "model.c"
    source.write_text(model.source)
    library = tmp_path / "portable.so"
    proc = subprocess.run(["cc", "-shared", "-fPIC", "-O1", *C99_ONLY, "-o", str(library), str(source), "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return lamina.load(str(library), threads=1)


def test_mixed_vector_code_builds_as_plain_c99(tmp_path):
    module = parse_module(MIXED)
    model = lamina.compile(MIXED, target="c", threads=1)
    assert "vector_size" in model.source and "#if defined(__GNUC__) && !defined(LAMINA_PORTABLE_C)" in model.source
    portable = build_portable(model, tmp_path)
    rng = np.random.default_rng(0)
    for n in (3, 8):
        x = rng.standard_normal((n, 16)).astype(np.float32)
        w = rng.standard_normal((16, 16)).astype(np.float32)
        k = rng.integers(-5, 5, (n, 16)).astype(np.int32)
        vector = model(x, w, k)
        assert_results_match(portable(x, w, k), vector)
        assert_results_match(vector, run_function(module, x, w, k))


def test_source_without_vectors_has_no_second_branch():
    model = lamina.compile("func.func @f(%x: tensor<i64>) -> tensor<i64> {\n  %y = graph.neg %x\n  func.return %y : tensor<i64>\n}\n", target="c", threads=1)
    assert "LAMINA_PORTABLE_C" not in model.source


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=5))
def test_random_programs_agree_in_both_branches(tmp_path_factory, module):
    note(print_module(module))
    inputs = inputs_for(module, seed=0, symbols={"n": 3})
    model = lamina.compile(module, target="c", threads=1)
    portable = build_portable(model, tmp_path_factory.mktemp("portable"))
    assert_results_match(portable(*inputs), model(*inputs))
