"""The graph dialect table: every row builds, verifies, infers shapes (static and symbolic) and
interprets; key ops agree with independent numpy formulations."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region

from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_function
from lamina.ir.diagnostics import LaminaError
from lamina.ir.types import TensorType, f32, i32
from lamina.ir.verify import verify_op_tree
from lamina.testing import graph_functions, inputs_for
from lamina.testing.graph_op_samples import SAMPLERS, missing_samplers

OP_NAMES = [row.name for row in Graph.rows]
REQUIRED = """const add sub mul div pow maximum minimum neg abs exp log sqrt rsqrt tanh sigmoid relu
leaky_relu gelu erf clip cast where equal less greater matmul conv2d max_pool2d avg_pool2d
global_avg_pool2d batch_norm layer_norm softmax log_softmax reduce_sum reduce_mean reduce_max
reduce_min argmax reshape transpose broadcast_to concat split slice pad gather squeeze unsqueeze
flatten""".split()


def test_table_has_every_required_op():
    assert not set(REQUIRED) - set(OP_NAMES)


def test_every_op_has_a_sampler_and_a_reference():
    assert missing_samplers() == []
    assert [row.name for row in Graph.rows if row.reference is None] == []


def args(*types):
    return Block(arg_types=list(types)).args


def function(block, outputs):
    block.add_op(func.ReturnOp(*outputs))
    fn = func.FuncOp("main", ([a.type for a in block.args], [o.type for o in outputs]), Region(block))
    return ModuleOp([fn])


@pytest.mark.parametrize("name", [n for n in OP_NAMES if n in SAMPLERS and n != "const"])
def test_each_op_verifies_and_interprets(name):
    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(graph_functions(max_ops=2, ops=(name,)))
    def check(module):
        verify_op_tree(module)
        for seed in (0, 1):
            outs = run_function(module, *inputs_for(module, seed=seed, symbols={"n": 2 + seed}))
            fn = next(iter(module.ops))
            assert len(outs) == len(fn.function_type.outputs.data)

    check()


def test_symbolic_batch_flows_through_matmul_relu_reshape():
    block = Block(arg_types=[TensorType.of(["n", 4], f32)])
    (x,) = block.args
    w = Graph["const"].build([], {"value": np.arange(32, dtype=np.float32).reshape(4, 8) / 10})
    block.add_op(w)
    mm = Graph["matmul"].build([x, w.results[0]], {})
    relu = Graph["relu"].build([mm.results[0]], {})
    reshape = Graph["reshape"].build([relu.results[0]], {"shape": ["n", 2, 4]})
    for op in (mm, relu, reshape):
        block.add_op(op)
    assert reshape.results[0].type.text() == "tensor<n x 2 x 4 x f32>"
    module = function(block, [reshape.results[0]])
    verify_op_tree(module)
    xv = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    (out,) = run_function(module, xv)
    expect = np.maximum(xv @ (np.arange(32, dtype=np.float32).reshape(4, 8) / 10), 0).reshape(5, 2, 4)
    np.testing.assert_allclose(out, expect, rtol=1e-6)


def test_batched_matmul_broadcasts_batch_dims():
    block = Block(arg_types=[TensorType.of([2, 1, 3, 4], f32), TensorType.of([5, 4, 6], f32)])
    mm = Graph["matmul"].build(list(block.args), {})
    assert mm.results[0].type.shape == (2, 5, 3, 6)
    block.add_op(mm)
    module = function(block, [mm.results[0]])
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 1, 3, 4), dtype=np.float32), rng.standard_normal((5, 4, 6), dtype=np.float32)
    (out,) = run_function(module, a, b)
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-5, atol=1e-6)


def naive_conv2d(x, w, strides, pads, dilations, groups):
    n, c, h, wd = x.shape
    oc, icg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    out = np.zeros((n, oc, oh, ow), np.float64)
    ocg = oc // groups
    for o in range(oc):
        g = o // ocg
        for i in range(oh):
            for j in range(ow):
                for ci in range(icg):
                    for a in range(kh):
                        for b in range(kw):
                            out[:, o, i, j] += (
                                xp[:, g * icg + ci, i * strides[0] + a * dilations[0], j * strides[1] + b * dilations[1]]
                                * w[o, ci, a, b]
                            )
    return out


@pytest.mark.parametrize(
    "strides,pads,dilations,groups",
    [((1, 1), (0, 0, 0, 0), (1, 1), 1), ((2, 2), (1, 1, 1, 1), (1, 1), 2), ((1, 2), (2, 0, 1, 1), (2, 1), 4)],
)
def test_conv2d_matches_naive_loops(strides, pads, dilations, groups):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 7, 6), dtype=np.float32)
    w = rng.standard_normal((8, 4 // groups, 3, 2), dtype=np.float32)
    block = Block(arg_types=[TensorType.of(x.shape, f32), TensorType.of(w.shape, f32)])
    conv = Graph["conv2d"].build(
        list(block.args), {"strides": strides, "pads": pads, "dilations": dilations, "groups": groups}
    )
    block.add_op(conv)
    module = function(block, [conv.results[0]])
    (out,) = run_function(module, x, w)
    np.testing.assert_allclose(out, naive_conv2d(x, w, strides, pads, dilations, groups), rtol=1e-4, atol=1e-4)


def test_softmax_rows_sum_to_one_and_match_formula():
    block = Block(arg_types=[TensorType.of([3, 5], f32)])
    sm = Graph["softmax"].build(list(block.args), {"axis": -1})
    block.add_op(sm)
    x = np.random.default_rng(3).standard_normal((3, 5)).astype(np.float32) * 10
    (out,) = run_function(function(block, [sm.results[0]]), x)
    e = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(-1, keepdims=True), rtol=1e-5)


def test_shape_rules_reject_bad_programs_with_located_errors():
    w, k = args(TensorType.of([4, 8], f32), TensorType.of([3, 8], i32))
    with pytest.raises(LaminaError, match="contracted dims differ"):
        Graph["matmul"].build([w, w], {})
    with pytest.raises(LaminaError, match="element types differ"):
        Graph["add"].build([w, k], {})
    with pytest.raises(LaminaError):
        Graph["reshape"].build([w], {"shape": [5, 7]})
    with pytest.raises(LaminaError):
        Graph["transpose"].build([w], {"perm": [0, 0]})


def test_interpreter_checks_argument_shapes():
    block = Block(arg_types=[TensorType.of(["n", 4], f32)])
    neg = Graph["neg"].build(list(block.args), {})
    block.add_op(neg)
    module = function(block, [neg.results[0]])
    with pytest.raises(LaminaError):
        run_function(module, np.zeros((3, 5), np.float32))
    with pytest.raises(LaminaError):
        run_function(module, np.zeros((3, 4), np.float64))


def test_indexing_and_selection_ops_refuse_what_does_not_fit():
    from lamina.ir.types import i8, i64

    x, idx, small = args(TensorType.of([4, 8], f32), TensorType.of([2, 1], i64), TensorType.of([200], i8))
    with pytest.raises(LaminaError, match="indices must have the rank of the input"):
        Graph["gather_elements"].build([x, args(TensorType.of([3], i64))[0]], {})
    with pytest.raises(LaminaError, match=r"updates must have shape \[2, 8\]"):
        Graph["scatter_nd"].build([x, idx, args(TensorType.of([2, 4], f32))[0]], {})
    with pytest.raises(LaminaError, match="k = 9 is out of range"):
        Graph["top_k"].build([x], {"k": 9})
    with pytest.raises(LaminaError, match=r"top_k over 200 elements of i8 .*at most 127"):
        Graph["top_k"].build([small], {"k": 1})
