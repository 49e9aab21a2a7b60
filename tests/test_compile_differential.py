"""Differential testing of the whole compiler: random graph functions compiled for the llvm
target (and a share of them for the c target) compute what the reference interpreter does.
LAMINA_DIFF_EXAMPLES raises the count for long runs (default 200)."""

import os

import pytest
from hypothesis import HealthCheck, given, note, settings

import lamina
from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_function
from lamina.ir.printer import print_module
from lamina.testing import assert_results_match, graph_functions, inputs_for
from lamina.testing.graph_op_samples import SAMPLERS

EXAMPLES = int(os.environ.get("LAMINA_DIFF_EXAMPLES", "200"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=5))
def test_random_programs_compile_to_what_the_interpreter_computes(module):
    note(print_module(module))
    inputs = inputs_for(module, seed=0, symbols={"n": 3})
    want = run_function(module, *inputs)
    model = lamina.compile(module, threads=1)
    assert_results_match(model(*inputs), want)
    if model.signature.symbols:  # a second size for the same compiled code
        other = inputs_for(module, seed=1, symbols={"n": 5})
        assert_results_match(model(*other), run_function(module, *other))


OPS = [row.name for row in Graph.rows if row.name in SAMPLERS and row.name != "const"]


@pytest.mark.parametrize("name", OPS)
def test_each_graph_op_compiles_for_llvm(name):
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(graph_functions(max_ops=2, ops=(name,)))
    def check(module):
        note(print_module(module))
        inputs = inputs_for(module, seed=2, symbols={"n": 4})
        assert_results_match(lamina.compile(module, threads=2)(*inputs), run_function(module, *inputs))

    check()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=4))
def test_c_target_agrees(module):
    note(print_module(module))
    inputs = inputs_for(module, seed=0, symbols={"n": 2})
    assert_results_match(lamina.compile(module, target="c", threads=2)(*inputs), run_function(module, *inputs))
