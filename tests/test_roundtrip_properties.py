"""Properties of the text format over random graph functions: print → parse → print is the
same text, and the re-parsed module verifies and computes the same results."""

import numpy as np
from hypothesis import HealthCheck, given, settings

from lamina.interpreter.graph import run_function
from lamina.ir.printer import print_module
from lamina.ir.verify import verify_op_tree
from lamina.parser import parse_module
from lamina.testing import graph_functions, inputs_for

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(graph_functions(max_ops=6))
def test_print_parse_print_is_stable(module):
    text = print_module(module)
    again = parse_module(text, "roundtrip.mlir")
    verify_op_tree(again)
    assert print_module(again) == text


@SETTINGS
@given(graph_functions(max_ops=6))
def test_generic_form_round_trips(module):
    generic = print_module(module, generic=True)
    again = parse_module(generic, "generic.mlir")
    verify_op_tree(again)
    assert print_module(again) == print_module(module)


@SETTINGS
@given(graph_functions(max_ops=5))
def test_reparsed_module_computes_the_same(module):
    again = parse_module(print_module(module), "roundtrip.mlir")
    inputs = inputs_for(module, seed=3)
    for got, want in zip(run_function(again, *inputs), run_function(module, *inputs)):
        np.testing.assert_array_equal(got, want)


def test_large_constants_travel_as_blobs_and_come_back_exactly():
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.ir import Block, Region

    from lamina.dialects.graph import Graph

    value = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    block = Block()
    c = Graph["const"].build([], {"value": value})
    c.results[0].name_hint = "weights"
    block.add_op(c)
    block.add_op(func.ReturnOp(c.results[0]))
    module = ModuleOp([func.FuncOp("f", ([], [c.results[0].type]), Region(block))])
    text = print_module(module)
    assert "dense_resource<weights>" in text and "0x04000000" in text
    assert text.count("\n") < 20  # no literal list of 120 numbers
    again = parse_module(text, "blob.mlir")
    (out,) = run_function(again)
    np.testing.assert_array_equal(out, value)
