"""Unit tests of the graph passes: each canonical pattern, fold-constants, cse, dce, shape-infer,
their options, and the registry. IR is built with the op classes; every rewrite is checked on
the op structure it leaves and on the interpreter results, which must not change."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from xdsl.dialects import func, scf
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region, SSAValue
from xdsl.rewriter import Rewriter

from lamina.dialects.graph import Graph
from lamina.dialects.registry import make_context
from lamina.interpreter.graph import run_function
from lamina.ir.diagnostics import LaminaError, SourceLocation, capture_warnings, location_of
from lamina.ir.dims import parse_dim
from lamina.ir.types import TensorType, f32, i1, i32
from lamina.ir.verify import verify_op_tree
from lamina.passes.graph.canonical_patterns import CANONICAL_PATTERNS
from lamina.passes.graph.canonicalize import Canonicalize
from lamina.passes.graph.cse import CSE
from lamina.passes.graph.dce import DCE
from lamina.passes.graph.fold_constants import FoldConstants
from lamina.passes.graph.shape_infer import ShapeInfer
from lamina.passes.registry import PASS_MODULES, available_passes
from lamina.testing import inputs_for
from lamina.tools.opt import parse_pipeline_spec


def tensor(shape, elem=f32) -> TensorType:
    return TensorType.of([parse_dim(d) if isinstance(d, str) else d for d in shape], elem)


@dataclass
class FunctionBuilder:
    """Builds `@main` op by op; `module(results)` closes it with a return."""

    arg_types: list
    block: Block = field(init=False)

    def __post_init__(self):
        self.block = Block(arg_types=self.arg_types)

    @property
    def args(self):
        return self.block.args

    def op(self, name: str, operands, attrs=None, line: int | None = None) -> SSAValue:
        location = SourceLocation("t.mlir", line, 3) if line is not None else None
        op = Graph[name].build(list(operands), attrs or {}, location=location)
        self.block.add_op(op)
        return op.results[0]

    def const(self, value, elem=np.float32) -> SSAValue:
        return self.op("const", [], {"value": np.asarray(value, dtype=elem)})

    def module(self, *results: SSAValue) -> ModuleOp:
        self.block.add_op(func.ReturnOp(*results))
        fn = func.FuncOp("main", (self.arg_types, [r.type for r in results]), Region(self.block))
        return ModuleOp([fn])


def body_ops(module: ModuleOp) -> list[str]:
    fn = next(iter(module.ops))
    return [op.name for op in fn.body.block.ops]


def apply(module: ModuleOp, *passes) -> ModuleOp:
    for p in passes:
        p.apply(make_context(), module)
        verify_op_tree(module, f"after {p.name}")
    return module


def assert_same(before, after):
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6, equal_nan=True)


def check_rewrite(module: ModuleOp, passes, expected_ops: list[str]) -> ModuleOp:
    """Run `passes`; the body must become `expected_ops` and compute what it computed before."""
    inputs = inputs_for(module, seed=3)
    before = run_function(module, *inputs)
    apply(module, *passes)
    assert body_ops(module) == expected_ops
    assert_same(before, run_function(module, *inputs))
    return module


# ------------------------------------------------------------------ canonicalize: one case per pattern

F23 = tensor([2, 3])
I23 = tensor([2, 3], i32)
B23 = tensor([2, 3], i1)


def add_zero(b):
    return b.op("add", [b.args[0], b.const(np.zeros((2, 3)))])


def zero_add(b):
    return b.op("add", [b.const(0.0), b.args[0]])


def sub_zero(b):
    return b.op("sub", [b.args[0], b.const([0.0, 0.0, 0.0])])


def int_sub_self(b):
    return b.op("sub", [b.args[0], b.args[0]])


def add_neg(b):
    return b.op("add", [b.const(np.ones((2, 1))), b.op("neg", [b.args[0]])])


def sub_neg(b):
    return b.op("sub", [b.args[0], b.op("neg", [b.const([1.0, -2.0, 0.5])])])


def mul_one(b):
    return b.op("mul", [b.args[0], b.const(1.0)])


def one_mul(b):
    return b.op("mul", [b.const(np.ones((1, 3))), b.args[0]])


def int_mul_zero(b):
    return b.op("mul", [b.args[0], b.const(0, np.int32)])


def int_zero_mul(b):
    return b.op("mul", [b.const(0, np.int32), b.args[0]])


def div_one(b):
    return b.op("div", [b.args[0], b.const(1.0)])


def pow_one(b):
    return b.op("pow", [b.args[0], b.const(1.0)])


def maximum_self(b):
    return b.op("maximum", [b.args[0], b.args[0]])


def minimum_self(b):
    return b.op("minimum", [b.args[0], b.args[0]])


def and_self(b):
    return b.op("and", [b.args[0], b.args[0]])


def or_self(b):
    return b.op("or", [b.args[0], b.args[0]])


def neg_neg(b):
    return b.op("neg", [b.op("neg", [b.args[0]])])


def not_not(b):
    return b.op("not", [b.op("not", [b.args[0]])])


def abs_abs(b):
    return b.op("abs", [b.op("abs", [b.args[0]])])


def abs_neg(b):
    return b.op("abs", [b.op("neg", [b.args[0]])])


def relu_relu(b):
    return b.op("relu", [b.op("relu", [b.args[0]])])


POOL = {"kernel": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
F1255 = tensor([1, 2, 5, 5])


def max_pool_relu(b, **changes):
    return b.op("max_pool2d", [b.op("relu", [b.args[0]])], {**POOL, **changes})


def max_pool_bias(b, bias=((0.5,), (-2.0,))):
    added = b.op("add", [b.args[0], b.const(np.array(bias, np.float32).reshape(len(bias), -1, 1) if np.ndim(bias) == 2 else np.array(bias, np.float32))])
    return b.op("max_pool2d", [added], POOL)


def _pool_and_relu(b):
    relu = b.op("relu", [b.args[0]])
    pooled = b.op("max_pool2d", [relu], {**POOL, "strides": [1, 1]})
    return b.op("add", [pooled, relu])


def floor_floor(b):
    return b.op("floor", [b.op("floor", [b.args[0]])])


def floor_ceil(b):
    return b.op("floor", [b.op("ceil", [b.args[0]])])


def ceil_ceil(b):
    return b.op("ceil", [b.op("ceil", [b.args[0]])])


def reshape_same(b):
    return b.op("reshape", [b.args[0]], {"shape": [2, 3]})


def reshape_reshape(b):
    return b.op("reshape", [b.op("reshape", [b.args[0]], {"shape": [3, 2]})], {"shape": [6]})


def unsqueeze_squeeze(b):
    return b.op("squeeze", [b.op("unsqueeze", [b.args[0]], {"axes": [0]})], {"axes": [0]})


def flatten_matrix(b):
    return b.op("flatten", [b.args[0]], {"axis": 1})


def transpose_identity(b):
    return b.op("transpose", [b.args[0]], {"perm": [0, 1]})


def transpose_transpose_cancels(b):
    return b.op("transpose", [b.op("transpose", [b.args[0]])])


def cast_same(b):
    return b.op("cast", [b.args[0]], {"to": f32})


def broadcast_same(b):
    return b.op("broadcast_to", [b.args[0]], {"shape": [2, 3]})


def broadcast_broadcast(b):
    return b.op("broadcast_to", [b.op("broadcast_to", [b.args[0]], {"shape": [1, 2, 3]})], {"shape": [4, 2, 3]})


def where_same(b):
    return b.op("where", [b.const([True, False, True], np.bool_), b.args[0], b.args[0]])


def slice_whole(b):
    return b.op("slice", [b.args[0]], {"starts": [0, 0], "ends": [2, 100]})


def pad_nothing(b):
    return b.op("pad", [b.args[0]], {"pads": [0, 0, 0, 0]})


def concat_one(b):
    return b.op("concat", [b.args[0]], {"axis": 1})


def split_parts(b, sizes=(1, 2, 3), axis=-1):
    """x [2, 6] split along its last axis; the split's results."""
    split = Graph["split"].build([b.args[0]], {"axis": axis, "sizes": list(sizes)})
    b.block.add_op(split)
    return split.results


def split_middle(b):
    return split_parts(b)[1]


def clip_unbounded(b):
    return b.op("clip", [b.args[0]])


def relu_between_transposes(b):
    # transpose(relu(transpose(x))): the inner transpose sinks past the ReLU and meets the outer one
    return b.op("transpose", [b.op("relu", [b.op("transpose", [b.args[0]])])])


def bias_between_transposes(b):
    # the constant [3, 1] broadcast over transpose(x) [3, 2] is permuted to [1, 3] for x [2, 3]
    return b.op("transpose", [b.op("add", [b.op("transpose", [b.args[0]]), b.const([[1.0], [2.0], [3.0]])])])


# (build, argument type, ops left in the body). Each pattern of CANONICAL_PATTERNS has a case.
SIMPLIFIED = {
    "AddZero": (add_zero, F23, ["func.return"]),
    "ZeroAdd": (zero_add, F23, ["func.return"]),
    "SubZero": (sub_zero, F23, ["func.return"]),
    "AddNeg": (add_neg, F23, ["graph.const", "graph.sub", "func.return"]),
    "SubNeg": (sub_neg, F23, ["graph.const", "graph.add", "func.return"]),
    "IntSubSelf": (int_sub_self, I23, ["graph.const", "func.return"]),
    "MulOne": (mul_one, F23, ["func.return"]),
    "OneMul": (one_mul, F23, ["func.return"]),
    "IntMulZero": (int_mul_zero, I23, ["graph.const", "func.return"]),
    "IntMulZero (lhs)": (int_zero_mul, I23, ["graph.const", "func.return"]),
    "DivOne": (div_one, F23, ["func.return"]),
    "PowOne": (pow_one, F23, ["func.return"]),
    "MaximumSelf": (maximum_self, F23, ["func.return"]),
    "MinimumSelf": (minimum_self, F23, ["func.return"]),
    "AndSelf": (and_self, B23, ["func.return"]),
    "OrSelf": (or_self, B23, ["func.return"]),
    "NegNeg": (neg_neg, F23, ["func.return"]),
    "NotNot": (not_not, B23, ["func.return"]),
    "AbsOfAbsOrNeg": (abs_abs, F23, ["graph.abs", "func.return"]),
    "AbsOfAbsOrNeg (neg)": (abs_neg, I23, ["graph.abs", "func.return"]),
    "ReluRelu": (relu_relu, F23, ["graph.relu", "func.return"]),
    "MaxPoolOfRelu": (max_pool_relu, F1255, ["graph.max_pool2d", "graph.relu", "func.return"]),
    "MaxPoolOfBias": (max_pool_bias, F1255, ["graph.const", "graph.max_pool2d", "graph.add", "func.return"]),
    "FloorFloor": (floor_floor, F23, ["graph.floor", "func.return"]),
    "FloorFloor (ceil)": (floor_ceil, F23, ["graph.ceil", "func.return"]),
    "CeilCeil": (ceil_ceil, F23, ["graph.ceil", "func.return"]),
    "ShapeOpToSameShape": (reshape_same, F23, ["func.return"]),
    "ShapeOpToSameShape (flatten)": (flatten_matrix, F23, ["func.return"]),
    "ShapeOpOfShapeOp": (reshape_reshape, F23, ["graph.reshape", "func.return"]),
    "ShapeOpOfShapeOp (inverse)": (unsqueeze_squeeze, F23, ["func.return"]),
    "TransposeIdentity": (transpose_identity, F23, ["func.return"]),
    "TransposeOfTranspose": (transpose_transpose_cancels, F23, ["func.return"]),
    "CastToSameType": (cast_same, F23, ["func.return"]),
    "BroadcastToSameShape": (broadcast_same, F23, ["func.return"]),
    "BroadcastOfBroadcast": (broadcast_broadcast, F23, ["graph.broadcast_to", "func.return"]),
    "WhereSame": (where_same, F23, ["func.return"]),
    "SliceOfWhole": (slice_whole, F23, ["func.return"]),
    "PadOfNothing": (pad_nothing, F23, ["func.return"]),
    "ConcatOfOne": (concat_one, F23, ["func.return"]),
    "ClipUnbounded": (clip_unbounded, F23, ["func.return"]),
    "SplitOfUnused": (split_middle, tensor([2, 6]), ["graph.slice", "func.return"]),
    "SinkTranspose": (relu_between_transposes, F23, ["graph.relu", "func.return"]),
    "SinkTranspose (constant, permuted)": (bias_between_transposes, F23, ["graph.const", "graph.add", "func.return"]),
}


@pytest.mark.parametrize("case", SIMPLIFIED)
def test_canonical_pattern_simplifies_and_keeps_results(case):
    build, arg_type, expected = SIMPLIFIED[case]
    b = FunctionBuilder([arg_type])
    module = b.module(build(b))
    check_rewrite(module, [Canonicalize()], expected)


def test_split_parts_read_become_slices_and_the_rest_is_not_computed():
    b = FunctionBuilder([tensor([2, 6])])
    first, _, last = split_parts(b)
    module = check_rewrite(b.module(first, last), [Canonicalize()], ["graph.slice", "graph.slice", "func.return"])
    slices = [op.attr_values() for op in next(iter(module.ops)).body.block.ops if op.name == "graph.slice"]
    assert [(a["starts"], a["ends"], a["axes"]) for a in slices] == [((0,), (1,), (1,)), ((3,), (6,), (1,))]


def test_a_split_read_whole_stays_one_split():
    b = FunctionBuilder([tensor([2, 6])])
    check_rewrite(b.module(*split_parts(b)), [Canonicalize()], ["graph.split", "func.return"])


def test_sink_transpose_reuses_the_transpose_a_value_already_has():
    """A residual add between NHWC convs: add(transpose(a), y) where the graph already computes
    transpose(y) (for the next conv) sinks as add(a, transpose(y)), and the outer transposes cancel."""
    b = FunctionBuilder([F23, tensor([3, 2])])
    x, y = b.args
    z = b.op("transpose", [y])
    w = b.op("add", [b.op("transpose", [x]), y])
    module = b.module(b.op("add", [b.op("transpose", [w]), z]))
    check_rewrite(module, [Canonicalize()], ["graph.transpose", "graph.add", "graph.add", "func.return"])


def test_every_canonical_pattern_has_a_case():
    tested = {case.split(" ")[0] for case in SIMPLIFIED}
    assert tested == {type(p).__name__ for p in CANONICAL_PATTERNS}


def test_identity_results_are_the_argument_itself():
    b = FunctionBuilder([F23])
    module = apply(b.module(neg_neg(b)), Canonicalize())
    ret = next(iter(module.ops)).body.block.last_op
    assert ret.operands[0] is next(iter(module.ops)).body.block.args[0]


# Rewrites that must NOT fire: broadcasting changes the type, or IEEE semantics forbid them.
KEPT = {
    "x + zeros broadcasts x up": (lambda b: b.op("add", [b.args[0], b.const(np.zeros((4, 2, 3)))]), F23, ["graph.const", "graph.add", "func.return"]),
    "0 + x broadcasts x up": (lambda b: b.op("add", [b.const(np.zeros((2, 2, 3))), b.args[0]]), F23, ["graph.const", "graph.add", "func.return"]),
    "x * ones broadcasts x up": (lambda b: b.op("mul", [b.args[0], b.const(np.ones((3, 2, 3)))]), F23, ["graph.const", "graph.mul", "func.return"]),
    "float x*0 (NaN, inf)": (lambda b: b.op("mul", [b.args[0], b.const(0.0)]), F23, ["graph.const", "graph.mul", "func.return"]),
    "float x-x (inf)": (lambda b: b.op("sub", [b.args[0], b.args[0]]), F23, ["graph.sub", "func.return"]),
    "x + non-splat": (lambda b: b.op("add", [b.args[0], b.const([0.0, 1.0, 0.0])]), F23, ["graph.const", "graph.add", "func.return"]),
    "x * 2": (lambda b: b.op("mul", [b.args[0], b.const(2.0)]), F23, ["graph.const", "graph.mul", "func.return"]),
    "transpose that moves axes": (lambda b: b.op("transpose", [b.args[0]], {"perm": [1, 0]}), F23, ["graph.transpose", "func.return"]),
    "slice with a step": (lambda b: b.op("slice", [b.args[0]], {"starts": [0], "ends": [3], "axes": [1], "steps": [2]}), F23, ["graph.slice", "func.return"]),
    "slice dropping a row": (lambda b: b.op("slice", [b.args[0]], {"starts": [1], "ends": [2], "axes": [0]}), F23, ["graph.slice", "func.return"]),
    "cast to another type": (lambda b: b.op("cast", [b.args[0]], {"to": i32}), F23, ["graph.cast", "func.return"]),
    "clip with a bound": (lambda b: b.op("clip", [b.args[0]], {"min": 0.0}), F23, ["graph.clip", "func.return"]),
    "max_pool(relu) with pads as wide as the kernel (a window of padding only)": (lambda b: max_pool_relu(b, kernel=[1, 1], strides=[1, 1]), F1255, ["graph.relu", "graph.max_pool2d", "func.return"]),
    "max_pool(relu) dilated": (lambda b: max_pool_relu(b, dilations=[2, 2], pads=[0, 0, 0, 0], strides=[1, 1]), F1255, ["graph.relu", "graph.max_pool2d", "func.return"]),
    "max_pool(relu) whose relu has another reader": (
        _pool_and_relu,
        F1255, ["graph.relu", "graph.max_pool2d", "graph.add", "func.return"],
    ),
    "max_pool(x + b) with b varying along a row": (lambda b: max_pool_bias(b, bias=[0.0, 1.0, 2.0, 3.0, 4.0]), F1255, ["graph.const", "graph.add", "graph.max_pool2d", "func.return"]),
    "max_pool(x + b) with an infinite b": (lambda b: max_pool_bias(b, bias=((np.inf,), (0.0,))), F1255, ["graph.const", "graph.add", "graph.max_pool2d", "func.return"]),
    "relu of abs": (lambda b: b.op("relu", [b.op("abs", [b.args[0]])]), F23, ["graph.abs", "graph.relu", "func.return"]),
    "add(transpose(x), y) with y never transposed (sinking would add a transpose)": (
        lambda b: b.op("add", [b.op("transpose", [b.args[0]]), b.op("exp", [b.args[0]])]),
        tensor([3, 3]), ["graph.transpose", "graph.exp", "graph.add", "func.return"],
    ),
}


@pytest.mark.parametrize("case", KEPT)
def test_canonicalize_leaves_rewrites_that_would_be_wrong(case):
    build, arg_type, expected = KEPT[case]
    b = FunctionBuilder([arg_type])
    check_rewrite(b.module(build(b)), [Canonicalize()], expected)


def test_float_x_times_zero_keeps_nan_and_inf():
    b = FunctionBuilder([tensor([3])])
    module = apply(b.module(b.op("mul", [b.args[0], b.const(0.0)])), Canonicalize())
    (out,) = run_function(module, np.array([np.nan, np.inf, 2.0], dtype=np.float32))
    assert np.isnan(out[0]) and np.isnan(out[1]) and out[2] == 0.0


def test_max_pool_of_relu_keeps_nan_and_negative_windows():
    b = FunctionBuilder([F1255])
    module = b.module(max_pool_relu(b))
    x = -np.abs(np.random.default_rng(0).standard_normal((1, 2, 5, 5))).astype(np.float32)
    x[0, 0, 2, 2] = np.nan
    x[0, 1, :2, :2] = -np.inf
    (before,) = run_function(module, x)
    (after,) = run_function(apply(module, Canonicalize()), x)
    assert body_ops(module) == ["graph.max_pool2d", "graph.relu", "func.return"]
    np.testing.assert_array_equal(np.isnan(after), np.isnan(before))
    np.testing.assert_array_equal(after, before)
    assert np.isnan(after[0, 0, 1, 1]) and (after[0, 1] == 0).all()


def test_composed_transposes_become_one():
    b = FunctionBuilder([tensor([2, 3, 4])])
    mid = b.op("transpose", [b.args[0]], {"perm": [2, 0, 1]})
    module = check_rewrite(b.module(b.op("transpose", [mid], {"perm": [2, 1, 0]})), [Canonicalize()], ["graph.transpose", "func.return"])
    transpose = next(iter(module.ops)).body.block.first_op
    assert list(transpose.attr("perm")) == [1, 0, 2]
    assert transpose.results[0].type == tensor([3, 2, 4])


def test_symbolic_reshape_chain_becomes_one_reshape():
    b = FunctionBuilder([tensor(["n", 2, 3])])
    mid = b.op("reshape", [b.args[0]], {"shape": ["n", 3, 2]})
    module = b.module(b.op("reshape", [mid], {"shape": ["n", 6]}))
    inputs = [np.arange(30, dtype=np.float32).reshape(5, 2, 3)]
    before = run_function(module, *inputs)
    apply(module, Canonicalize())
    assert body_ops(module) == ["graph.reshape", "func.return"]
    assert_same(before, run_function(module, *inputs))


def test_symbolic_int_sub_self_stays():
    # zeros of a symbolic shape cannot be a constant
    b = FunctionBuilder([tensor(["n", 3], i32)])
    module = apply(b.module(int_sub_self(b)), Canonicalize())
    assert body_ops(module) == ["graph.sub", "func.return"]


def test_chains_simplify_to_a_fixpoint():
    b = FunctionBuilder([F23])
    x = b.op("neg", [b.op("neg", [b.op("mul", [b.args[0], b.const(1.0)])])])
    y = b.op("add", [b.op("relu", [b.op("relu", [x])]), b.const(0.0)])
    check_rewrite(b.module(y), [Canonicalize()], ["graph.relu", "func.return"])


def test_new_ops_carry_the_location_of_the_op_they_replace():
    b = FunctionBuilder([tensor([2, 3, 4])])
    mid = b.op("transpose", [b.args[0]], {"perm": [2, 0, 1]}, line=4)
    module = apply(b.module(b.op("transpose", [mid], {"perm": [2, 1, 0]}, line=7)), Canonicalize())
    assert location_of(next(iter(module.ops)).body.block.first_op) == SourceLocation("t.mlir", 7, 3)


def test_int_zero_constant_carries_the_location():
    b = FunctionBuilder([I23])
    module = apply(b.module(b.op("sub", [b.args[0], b.args[0]], line=9)), Canonicalize())
    assert location_of(next(iter(module.ops)).body.block.first_op) == SourceLocation("t.mlir", 9, 3)


def test_iteration_cap_warns_and_leaves_valid_ir():
    # Each sweep visits ops in order, so a chain of 6 negations needs several sweeps.
    b = FunctionBuilder([F23])
    v = b.args[0]
    for line in range(6):
        v = b.op("abs", [v], line=line + 1)
    module = b.module(v)
    inputs = inputs_for(module, seed=1)
    before = run_function(module, *inputs)
    with capture_warnings() as warnings:
        apply(module, Canonicalize(max_iterations=1))
    assert len(warnings) == 1
    assert "did not reach a fixpoint in 1 iterations" in warnings[0].message
    assert warnings[0].location is not None and warnings[0].location.file == "t.mlir"
    assert_same(before, run_function(module, *inputs))
    with capture_warnings() as warnings:
        apply(module, Canonicalize())
    assert warnings == [] and body_ops(module) == ["graph.abs", "func.return"]


def test_converging_canonicalize_is_silent():
    b = FunctionBuilder([F23])
    with capture_warnings() as warnings:
        apply(b.module(neg_neg(b)), Canonicalize(max_iterations=2))
    assert warnings == []


def test_max_iterations_must_be_positive():
    b = FunctionBuilder([F23])
    with pytest.raises(LaminaError, match="max-iterations"):
        apply(b.module(neg_neg(b)), Canonicalize(max_iterations=0))


def test_options_parse_from_a_pipeline_spec():
    (canon, fold, infer) = parse_pipeline_spec('canonicalize{max-iterations=3},fold-constants{max-elements=16},shape-infer{bind="n=2"}')
    assert canon == Canonicalize(max_iterations=3)
    assert fold == FoldConstants(max_elements=16)
    assert infer == ShapeInfer(bind="n=2")


# ------------------------------------------------------------------ fold-constants


def test_fold_constants_evaluates_chains_with_the_reference():
    b = FunctionBuilder([F23])
    c = b.op("exp", [b.op("add", [b.const([[1.0, 2.0, 3.0]]), b.const(0.5)])], line=5)
    module = check_rewrite(b.module(b.op("mul", [b.args[0], c])), [FoldConstants()], ["graph.const", "graph.mul", "func.return"])
    const = next(iter(module.ops)).body.block.first_op
    np.testing.assert_allclose(const.attr("value"), np.exp(np.array([[1.5, 2.5, 3.5]], dtype=np.float32)), rtol=1e-6)
    assert const.attr("value").dtype == np.float32
    assert location_of(const) == SourceLocation("t.mlir", 5, 3)


def test_fold_constants_keeps_integer_dtype_and_multi_results():
    b = FunctionBuilder([I23])
    parts = Graph["split"].build([b.const(np.arange(6).reshape(2, 3), np.int32)], {"axis": 1, "sizes": [1, 2]})
    b.block.add_op(parts)
    joined = b.op("concat", [parts.results[1], parts.results[0]], {"axis": 1})
    module = check_rewrite(b.module(b.op("add", [b.args[0], joined])), [FoldConstants()], ["graph.const", "graph.add", "func.return"])
    value = next(iter(module.ops)).body.block.first_op.attr("value")
    np.testing.assert_array_equal(value, np.array([[1, 2, 0], [4, 5, 3]], dtype=np.int32))
    assert value.dtype == np.int32


def test_fold_constants_respects_max_elements():
    b = FunctionBuilder([tensor([4, 8])])
    big = b.op("broadcast_to", [b.const(2.0)], {"shape": [4, 8]})
    module = b.module(b.op("mul", [b.args[0], big]))
    check_rewrite(module, [FoldConstants(max_elements=31)], ["graph.const", "graph.broadcast_to", "graph.mul", "func.return"])
    check_rewrite(module, [FoldConstants(max_elements=32)], ["graph.const", "graph.mul", "func.return"])


def test_fold_constants_never_folds_symbolic_results():
    b = FunctionBuilder([tensor(["n", 3])])
    wide = b.op("reshape", [b.const(np.ones(6))], {"shape": [2, 3]})
    shaped = b.op("broadcast_to", [b.const(1.0)], {"shape": ["n", 3]})
    module = b.module(b.op("add", [b.op("add", [b.args[0], shaped]), b.op("reduce_sum", [wide], {"axes": [0], "keepdims": True})]))
    inputs = [np.ones((4, 3), dtype=np.float32)]
    before = run_function(module, *inputs)
    apply(module, FoldConstants())
    assert body_ops(module).count("graph.broadcast_to") == 1
    assert "graph.reshape" not in body_ops(module) and "graph.reduce_sum" not in body_ops(module)
    assert_same(before, run_function(module, *inputs))


def test_fold_constants_leaves_ops_on_arguments_alone():
    b = FunctionBuilder([F23])
    check_rewrite(b.module(b.op("exp", [b.args[0]])), [FoldConstants()], ["graph.exp", "func.return"])


def test_fold_constants_with_integer_overflow_matches_run_time():
    b = FunctionBuilder([tensor([2], i32)])
    big = b.op("mul", [b.const([2**30, 3], np.int32), b.const(4, np.int32)])
    check_rewrite(b.module(b.op("add", [b.args[0], big])), [FoldConstants()], ["graph.const", "graph.add", "func.return"])


# ------------------------------------------------------------------ cse


def test_cse_merges_identical_ops_and_constants():
    b = FunctionBuilder([F23])
    c1, c2 = b.const([1.0, 2.0, 3.0]), b.const([1.0, 2.0, 3.0])
    s1, s2 = b.op("add", [b.args[0], c1]), b.op("add", [b.args[0], c2])
    module = check_rewrite(b.module(b.op("mul", [s1, s2])), [CSE()], ["graph.const", "graph.add", "graph.mul", "func.return"])
    mul = next(iter(module.ops)).body.block.last_op.operands[0].owner
    assert mul.lhs is mul.rhs


def test_cse_keeps_ops_that_differ():
    b = FunctionBuilder([F23])
    a = b.op("add", [b.args[0], b.const([1.0, 2.0, 3.0])])
    c = b.op("add", [b.args[0], b.const([1.0, 2.0, 4.0])])  # another constant
    d = b.op("sub", [b.args[0], b.const([1.0, 2.0, 3.0])])  # another op
    t1 = b.op("transpose", [a], {"perm": [1, 0]})
    t2 = b.op("reshape", [a], {"shape": [3, 2]})  # same result type, other op
    e = b.op("leaky_relu", [b.args[0]], {"alpha": 0.1})
    f = b.op("leaky_relu", [b.args[0]], {"alpha": 0.2})  # another attribute
    module = b.module(a, c, d, t1, t2, e, f)
    ops_before = body_ops(module)
    # only the second [1, 2, 3] constant is a repeat
    check_rewrite(module, [CSE()], ops_before[:4] + ops_before[5:])
    assert body_ops(module).count("graph.leaky_relu") == 2 and body_ops(module).count("graph.add") == 2


def nested_region_module(inner_first: bool) -> tuple[ModuleOp, Block]:
    """`@main` with an scf.if whose region computes `exp(x)`; the same op also appears in the
    function body after (inner_first) or before the if."""
    b = FunctionBuilder([F23, i1])
    if not inner_first:
        outer = b.op("exp", [b.args[0]])
    then_block = Block()
    then_block.add_op(inner := Graph["exp"].build([b.args[0]], {}))
    then_block.add_op(scf.YieldOp(inner.results[0]))
    else_block = Block()
    else_block.add_op(scf.YieldOp(b.args[0]))
    branch = scf.IfOp(b.args[1], [F23], Region(then_block), Region(else_block))
    b.block.add_op(branch)
    if inner_first:
        outer = b.op("exp", [b.args[0]])
    return b.module(branch.results[0], outer), then_block


def test_cse_lets_nested_regions_reuse_enclosing_values():
    module, then_block = nested_region_module(inner_first=False)
    apply(module, CSE())
    assert [op.name for op in then_block.ops] == ["scf.yield"]
    assert body_ops(module) == ["graph.exp", "scf.if", "func.return"]


def test_cse_does_not_reuse_values_from_nested_regions():
    module, then_block = nested_region_module(inner_first=True)
    apply(module, CSE())
    assert [op.name for op in then_block.ops] == ["graph.exp", "scf.yield"]
    assert body_ops(module) == ["scf.if", "graph.exp", "func.return"]


# ------------------------------------------------------------------ dce


def test_dce_removes_unused_chains_and_keeps_what_is_returned():
    b = FunctionBuilder([F23])
    dead = b.op("exp", [b.op("add", [b.args[0], b.const(1.0)])])
    b.op("neg", [dead])
    live = b.op("relu", [b.args[0]])
    check_rewrite(b.module(live), [DCE()], ["graph.relu", "func.return"])


def test_dce_keeps_calls_with_unknown_effects():
    b = FunctionBuilder([F23])
    b.block.add_op(func.CallOp("helper", [b.args[0]], [F23]))
    b.op("exp", [b.args[0]])
    module = b.module(b.args[0])
    helper_block = Block(arg_types=[F23])
    helper_block.add_op(func.ReturnOp(helper_block.args[0]))
    module.body.block.add_op(func.FuncOp("helper", ([F23], [F23]), Region(helper_block)))
    apply(module, DCE())
    assert body_ops(module) == ["func.call", "func.return"]


# ------------------------------------------------------------------ shape-infer


def test_shape_infer_binds_symbols_through_signature_and_attributes():
    b = FunctionBuilder([tensor(["n", 4])])
    y = b.op("reshape", [b.op("relu", [b.args[0]])], {"shape": ["n", 2, 2]})
    module = b.module(b.op("reduce_sum", [y], {"axes": [0], "keepdims": False}), y)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    before = run_function(module, x)
    apply(module, ShapeInfer(bind="n=8"))
    fn = next(iter(module.ops))
    assert list(fn.function_type.inputs.data) == [tensor([8, 4])]
    assert list(fn.function_type.outputs.data) == [tensor([2, 2]), tensor([8, 2, 2])]
    reshape = y.owner
    assert list(reshape.attr("shape")) == [8, 2, 2] and reshape.results[0].type == tensor([8, 2, 2])
    assert_same(before, run_function(module, x))


def test_shape_infer_binds_polynomial_dims():
    b = FunctionBuilder([tensor(["n", "m"])])
    module = b.module(b.op("reshape", [b.args[0]], {"shape": ["n*m"]}))
    apply(module, ShapeInfer(bind="n=3, m=5"))
    assert next(iter(module.ops)).function_type.outputs.data[0] == tensor([15])


def test_shape_infer_refines_imprecise_result_types():
    b = FunctionBuilder([F23])
    loose = Graph["exp"].build([b.args[0]], {}, result_types=[tensor(["k", 3])])
    b.block.add_op(loose)
    module = b.module(loose.results[0])
    apply(module, ShapeInfer())
    assert loose.results[0].type == F23
    assert next(iter(module.ops)).function_type.outputs.data[0] == F23


def test_shape_infer_after_an_argument_type_changed():
    b = FunctionBuilder([tensor([2, 3])])
    module = b.module(b.op("add", [b.op("exp", [b.args[0]], line=2), b.const(np.ones((4, 1, 1)))]))
    fn = next(iter(module.ops))
    Rewriter.replace_value_with_new_type(fn.body.block.args[0], tensor([5, 3]))
    # the stale result type 2x3 is no refinement of the 5x3 the new argument gives
    with pytest.raises(LaminaError, match="does not refine") as err:
        apply(module, ShapeInfer())
    assert err.value.location == SourceLocation("t.mlir", 2, 3)


def test_shape_infer_reports_a_result_type_that_binding_contradicts():
    b = FunctionBuilder([tensor(["n", 4])])
    claimed = Graph["exp"].build([b.args[0]], {}, result_types=[tensor([2, 4])], location=SourceLocation("t.mlir", 4, 3))
    b.block.add_op(claimed)
    module = b.module(claimed.results[0])
    with pytest.raises(LaminaError, match="does not refine") as err:
        apply(module, ShapeInfer(bind="n=3"))
    assert err.value.location == SourceLocation("t.mlir", 4, 3)


def test_shape_infer_reports_ops_that_binding_makes_ill_typed():
    b = FunctionBuilder([tensor(["n", 4])])
    three = b.const(np.ones((3, 4)))
    # typed by hand: the rule cannot broadcast n with 3 until n is known
    add = Graph["add"].build([b.args[0], three], {}, result_types=[tensor([3, 4])], location=SourceLocation("t.mlir", 6, 3))
    b.block.add_op(add)
    module = b.module(add.results[0])
    with pytest.raises(LaminaError) as err:
        apply(module, ShapeInfer(bind="n=2"))
    assert err.value.location == SourceLocation("t.mlir", 6, 3)
    assert "graph.add" in err.value.message and "broadcast" in err.value.message


@pytest.mark.parametrize("bind, message", [("n", "name=size"), ("n=-1", "name=size"), ("n=x", "name=size"), ("k=3", "no function signature uses")])
def test_shape_infer_rejects_bad_bindings(bind, message):
    b = FunctionBuilder([tensor(["n", 4])])
    with pytest.raises(LaminaError, match=message):
        apply(b.module(b.op("relu", [b.args[0]])), ShapeInfer(bind=bind))


def test_shape_infer_without_bindings_keeps_symbolic_programs():
    b = FunctionBuilder([tensor(["n", 4])])
    module = b.module(b.op("reshape", [b.args[0]], {"shape": ["n", 2, 2]}))
    apply(module, ShapeInfer())
    assert next(iter(module.ops)).function_type.outputs.data[0] == tensor(["n", 2, 2])


# ------------------------------------------------------------------ registry


def test_registry_names_the_graph_passes_by_their_kebab_name():
    passes = available_passes()
    for name, cls in {"canonicalize": Canonicalize, "fold-constants": FoldConstants, "cse": CSE, "dce": DCE, "shape-infer": ShapeInfer}.items():
        assert passes[name] is cls
    assert all(name == cls.name for name, cls in passes.items())
    assert all(m.startswith("lamina.") for m in PASS_MODULES)


def test_shape_infer_replaces_unknown_sizes_but_not_signature_symbols():
    b = FunctionBuilder([tensor(["n", 3]), tensor(["m", 3])])
    unknown = Graph["exp"].build([b.args[0]], {}, result_types=[tensor(["unk", 3])])
    b.block.add_op(unknown)
    module = b.module(unknown.results[0])
    apply(module, ShapeInfer())
    assert unknown.results[0].type == tensor(["n", 3])

    b = FunctionBuilder([tensor(["n", 3]), tensor(["m", 3])])
    swapped = Graph["exp"].build([b.args[0]], {}, result_types=[tensor(["m", 3])])
    b.block.add_op(swapped)
    with pytest.raises(LaminaError, match="does not refine"):
        apply(b.module(swapped.results[0]), ShapeInfer())


# ------------------------------------------------------------------ through the text format

PROGRAM = """func.func @f(%x: tensor<n x 4 x f32>) -> tensor<n x 4 x f32> {
  %z = graph.const dense<0.0> : tensor<f32>
  %two = graph.const dense<2.0> : tensor<f32>
  %half = graph.const dense<0.5> : tensor<f32>
  %one = graph.mul %two, %half
  %a = graph.add %x, %z
  %b = graph.mul %a, %one
  %e1 = graph.exp %b
  %e2 = graph.exp %b
  %s = graph.add %e1, %e2
  %r = graph.neg %s
  %t = graph.neg %r
  func.return %t : tensor<n x 4 x f32>
}
"""


def test_default_graph_pipeline_on_a_parsed_program():
    from lamina.ir.printer import print_module
    from lamina.parser import parse_module

    module = parse_module(PROGRAM, "p.mlir")
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    before = run_function(module, x)
    apply(module, *parse_pipeline_spec("canonicalize,cse,fold-constants,dce,canonicalize"))
    assert print_module(module).strip() == "\n".join(
        [
            "func.func @f(%x: tensor<n x 4 x f32>) -> tensor<n x 4 x f32> {",
            "  %e1 = graph.exp %x : tensor<n x 4 x f32>",
            "  %s = graph.add %e1, %e1 : tensor<n x 4 x f32>",
            "  func.return %s : tensor<n x 4 x f32>",
            "}",
        ]
    )
    assert_same(before, run_function(module, x))


def test_cap_warning_renders_at_the_parsed_op():
    from lamina.parser import parse_module

    module = parse_module(PROGRAM, "p.mlir")
    with capture_warnings() as warnings:
        apply(module, Canonicalize(max_iterations=1))
    assert len(warnings) == 1
    assert warnings[0].render().startswith("p.mlir:")
    assert ": warning: canonicalize did not reach a fixpoint in 1 iterations" in warnings[0].render()
