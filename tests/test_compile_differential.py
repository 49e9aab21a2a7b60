"""Differential testing of the whole compiler: random graph functions compiled for the llvm
target (and a share of them for the c target) compute what the reference interpreter does.
LAMINA_DIFF_EXAMPLES raises the count for long runs (default 200)."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings

import lamina
from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_function
from lamina.ir.printer import print_module
from lamina.testing import graph_functions, inputs_for
from lamina.testing.graph_op_samples import SAMPLERS

EXAMPLES = int(os.environ.get("LAMINA_DIFF_EXAMPLES", "200"))


def assert_matches(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        if np.issubdtype(w.dtype, np.floating):
            np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, w)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=5))
def test_random_programs_compile_to_what_the_interpreter_computes(module):
    note(print_module(module))
    inputs = inputs_for(module, seed=0, symbols={"n": 3})
    want = run_function(module, *inputs)
    model = lamina.compile(module, threads=1)
    assert_matches(model(*inputs), want)
    if model.signature.symbols:  # a second size for the same compiled code
        other = inputs_for(module, seed=1, symbols={"n": 5})
        assert_matches(model(*other), run_function(module, *other))


OPS = [row.name for row in Graph.rows if row.name in SAMPLERS and row.name != "const"]


@pytest.mark.parametrize("name", OPS)
def test_each_graph_op_compiles_for_llvm(name):
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(graph_functions(max_ops=2, ops=(name,)))
    def check(module):
        note(print_module(module))
        inputs = inputs_for(module, seed=2, symbols={"n": 4})
        assert_matches(lamina.compile(module, threads=2)(*inputs), run_function(module, *inputs))

    check()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=4))
def test_c_target_agrees(module):
    note(print_module(module))
    inputs = inputs_for(module, seed=0, symbols={"n": 2})
    assert_matches(lamina.compile(module, target="c", threads=2)(*inputs), run_function(module, *inputs))
