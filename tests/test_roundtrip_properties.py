"""Properties of the text format over random graph functions: print → parse → print is the
same text, and the re-parsed module verifies and computes the same results."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region

from lamina.dialects.graph import Graph
from lamina.ir.diagnostics import location_of
from lamina.lowering.graph_to_loop import lower_module

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


@SETTINGS
@given(graph_functions(max_ops=5))
def test_locations_round_trip_with_debuginfo(module):
    first = parse_module(print_module(module), "first.mlir")
    text = print_module(first, debuginfo=True)
    again = parse_module(text, "second.mlir")
    assert print_module(again, debuginfo=True) == text
    originals = [str(location_of(op)) for op in first.walk() if op is not first]
    assert [str(location_of(op)) for op in again.walk() if op is not again] == originals
    assert all(loc.startswith("first.mlir:") for loc in originals)


CONSTANT_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int32, np.int64, np.uint8, np.bool_]


@st.composite
def constant_arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(CONSTANT_DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=6))
    # Both sides of the inline limit (16 elements), splats, and IEEE specials.
    if draw(st.booleans()):
        value = draw(hnp.from_dtype(dtype))
        return np.full(shape, value, dtype=dtype)
    return draw(hnp.arrays(dtype, shape))


@SETTINGS
@given(constant_arrays())
def test_constants_come_back_bit_exact(value):
    block = Block()
    const = Graph["const"].build([], {"value": value})
    block.add_op(const)
    block.add_op(func.ReturnOp(const.results[0]))
    module = ModuleOp([func.FuncOp("f", ([], [const.results[0].type]), Region(block))])
    text = print_module(module)
    again = parse_module(text, "constants.mlir")
    got = again.ops.first.body.block.first_op.properties["value"].array
    assert got.dtype == value.dtype and got.shape == value.shape
    if np.issubdtype(value.dtype, np.floating):
        # NaN payloads are not kept inline (they print as `nan`); everything else is bit-exact.
        nan = np.isnan(value)
        assert np.array_equal(np.isnan(got), nan)
        assert got[~nan].tobytes() == value[~nan].tobytes()
    else:
        assert got.tobytes() == value.tobytes()
    assert print_module(again) == text


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(graph_functions(max_ops=4))
def test_lowered_loop_ir_round_trips_in_custom_form(module):
    loops = module.clone()
    lower_module(loops)
    text = print_module(loops)
    again = parse_module(text, "loops.mlir")
    assert print_module(again) == text
