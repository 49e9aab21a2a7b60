"""lower-graph-to-loop: every graph op lowers through its row's compute rule, and the loop
interpreter then computes what the graph interpreter computes (random inputs, symbolic batch
sizes, random whole functions); the IR it makes has the structure schedules rely on."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region
from xdsl.traits import ConstantLike

from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_function as run_graph
from lamina.interpreter.loop import OUTPUTS_ATTR, compile_function
from lamina.ir.diagnostics import LaminaError
from lamina.ir.types import TensorType, f32, i1, i8, i32, i64
from lamina.ir.verify import verify_op_tree
from lamina.lowering.compute_rules import Access, BinOp, Name, RuleError, parse_rules
from lamina.lowering.graph_to_loop import LowerGraphToLoop, lower_module
from lamina.testing import graph_functions, inputs_for

OP_NAMES = [row.name for row in Graph.rows]


def lowered(module: ModuleOp) -> ModuleOp:
    out = module.clone()
    lower_module(out)
    verify_op_tree(out)
    return out


def assert_lowering_matches(module: ModuleOp, symbol_values=(2, 4), seed: int = 0) -> ModuleOp:
    loops = lowered(module)
    compiled = compile_function(loops)
    for k, n in enumerate(symbol_values):
        inputs = inputs_for(module, seed=seed + k, symbols={"n": n})
        want = run_graph(module, *inputs)
        got = compiled.run(inputs)
        assert len(got) == len(want)
        ops = [op.name for op in next(iter(module.ops)).body.block.ops]
        for w, g in zip(want, got):
            assert g.shape == w.shape and g.dtype == w.dtype, ops
            # f32 accumulation order differs from numpy's pairwise sums; normalizations divide
            # by small deviations, so allow a little more than rounding.
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4, equal_nan=True, err_msg=str(ops))
    return loops


def graph_module(arg_types, build) -> ModuleOp:
    block = Block(arg_types=list(arg_types))

    def emit(name, operands, attrs=None):
        op = Graph[name].build(operands, attrs or {})
        block.add_op(op)
        return op.results[0] if len(op.results) == 1 else list(op.results)

    outputs = build(emit, *block.args)
    outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
    block.add_op(func.ReturnOp(*outputs))
    fn = func.FuncOp("main", (list(arg_types), [o.type for o in outputs]), Region(block))
    return ModuleOp([fn])


def ops_named(module, name):
    return [op for op in module.walk() if op.name == name]


# ---------------------------------------------------------------- the table


def test_every_graph_op_has_a_rule_or_is_a_constant():
    missing = [
        row.name
        for row in Graph.rows
        if row.compute is None and row.lowering is None and ConstantLike not in row.traits
    ]
    assert missing == []


@pytest.mark.parametrize("name", [n for n in OP_NAMES if n != "const"])
def test_each_op_lowered_equals_the_graph_interpreter(name):
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(graph_functions(max_ops=2, ops=(name,)))
    def check(module):
        loops = assert_lowering_matches(module)
        assert not any(op.name.startswith("graph.") for op in loops.walk())

    check()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=6))
def test_random_graph_functions_lower_to_equivalent_loops(module):
    assert_lowering_matches(module, symbol_values=(3,))


# ---------------------------------------------------------------- structure


def test_matmul_is_a_named_block_with_spatial_and_reduce_iterators():
    module = graph_module(
        [TensorType.of(["n", 8], f32), TensorType.of([8, 5], f32)],
        lambda emit, x, w: emit("matmul", [x, w]),
    )
    loops = assert_lowering_matches(module)
    fn = next(iter(loops.ops))
    assert [str(t) for t in fn.function_type.inputs.data] == ["memref<n x 8 x f32>", "memref<8x5xf32>", "memref<n x 5 x f32>"]
    assert fn.attributes[OUTPUTS_ATTR].value.data == 1
    fors = ops_named(loops, "loop.for")
    assert [(f.attr("label"), f.attr("kind")) for f in fors] == [("i", "parallel"), ("j", "parallel"), ("k", "reduction")]
    (block,) = ops_named(loops, "loop.block")
    assert block.attr("label") == "matmul" and block.attr("iter_kinds") == "SSR"
    assert [str(d) for d in block.attr("domain")] == ["n", "5", "8"]
    # The loop bound of i is the symbolic batch size.
    (size,) = ops_named(loops, "loop.size")
    assert size.attr("value") == "n" and fors[0].operands[1] is size.results[0]
    # The init region stores the identity of +=.
    (store,) = [op for op in block.init.block.ops if op.name == "loop.store"]
    stored = store.operands[0].owner
    assert stored.name == "arith.constant" and stored.value.value.data == 0.0 and stored.result.type == f32
    assert list(store.operands[2:]) == list(block.init.block.args[:2])


def test_intermediates_are_allocated_and_outputs_written_in_place():
    module = graph_module(
        [TensorType.of(["n", 4], f32)],
        lambda emit, x: emit("relu", [emit("exp", [x])]),
    )
    loops = assert_lowering_matches(module)
    allocs = ops_named(loops, "loop.alloc")
    assert len(allocs) == 1 and str(allocs[0].results[0].type) == "memref<n x 4 x f32>"
    assert len(allocs[0].operands) == 1  # the symbolic size n
    labels = [b.attr("label") for b in ops_named(loops, "loop.block")]
    assert labels == ["exp", "relu"]


def test_softmax_is_several_stages_with_temporaries():
    module = graph_module([TensorType.of([3, 7], f32)], lambda emit, x: emit("softmax", [x], {"axis": 1}))
    loops = assert_lowering_matches(module)
    labels = [b.attr("label") for b in ops_named(loops, "loop.block")]
    assert labels == ["softmax", "softmax_1", "softmax_2", "softmax_3"]
    # row max, exponentials, row sum: each stage writes a buffer of its own, once
    assert [str(a.results[0].type) for a in ops_named(loops, "loop.alloc")] == ["memref<3x1xf32>", "memref<3x7xf32>", "memref<3x1xf32>"]


def test_constants_become_global_buffers_sharing_the_array():
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    module = graph_module(
        [TensorType.of([2, 3], f32)],
        lambda emit, x: emit("add", [x, emit("const", [], {"value": value})]),
    )
    source_const = ops_named(module, "graph.const")[0]
    loops = assert_lowering_matches(module)
    (const,) = ops_named(loops, "loop.const")
    assert const.properties["value"] is source_const.properties["value"]
    assert str(const.results[0].type) == "memref<2x3xf32>"


def test_returning_an_input_a_constant_or_one_value_twice_copies():
    module = graph_module(
        [TensorType.of([4], f32)],
        lambda emit, x: [x, emit("neg", [x]), emit("const", [], {"value": np.ones(2, np.float32)})],
    )
    loops = assert_lowering_matches(module)
    assert [b.attr("label") for b in ops_named(loops, "loop.block")] == ["neg", "copy", "copy_1"]

    def twice(emit, x):
        y = emit("neg", [x])
        return [y, y]

    assert_lowering_matches(graph_module([TensorType.of(["n", 2], f32)], twice))


# ---------------------------------------------------------------- non-float element types


def int_inputs(module, seed):
    rng = np.random.default_rng(seed)
    fn = next(iter(module.ops))
    out = []
    for arg in fn.body.block.args:
        t = arg.type
        shape = tuple(d if isinstance(d, int) else 3 for d in t.shape)
        if t.dtype == np.bool_:
            out.append(rng.random(shape) < 0.5)
        else:
            out.append(rng.integers(-7, 8, size=shape).astype(t.dtype))
    return out


@pytest.mark.parametrize("name", ["div", "mod", "pow", "maximum", "sub", "mul"])
def test_integer_arithmetic_matches_numpy_semantics(name):
    module = graph_module([TensorType.of([4, 5], i32), TensorType.of([5], i32)], lambda emit, a, b: emit(name, [a, b]))
    loops = lowered(module)
    for seed in range(3):
        inputs = int_inputs(module, seed)
        inputs[1] = np.where(inputs[1] == 0, 3, inputs[1]).astype(np.int32)
        np.testing.assert_array_equal(compile_function(loops).run(inputs)[0], run_graph(module, *inputs)[0])


def test_bool_and_index_valued_ops():
    def build(emit, x, c, idx):
        picked = emit("gather", [x, idx], {"axis": 1})
        mask = emit("and", [c, emit("greater", [x, emit("neg", [x])])])
        best = emit("argmax", [x], {"axis": 1, "keepdims": False})
        last = emit("argmin", [x], {"axis": 0, "select_last_index": True})
        flag = emit("cast", [x], {"to": i1})
        return [picked, emit("where", [mask, x, emit("abs", [x])]), best, last, emit("not", [flag])]

    module = graph_module([TensorType.of(["n", 6], i32), TensorType.of([1, 6], i1), TensorType.of([2, 2], i64)], build)
    loops = lowered(module)
    for seed in range(3):
        inputs = int_inputs(module, seed)
        inputs[2] = np.array([[0, -1], [5, -6]], dtype=np.int64)
        got, want = compile_function(loops).run(inputs), run_graph(module, *inputs)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_windowed_ops_with_padding_strides_dilation_and_groups():
    weight = np.random.default_rng(0).standard_normal((6, 2, 3, 2)).astype(np.float32)
    bias = np.arange(6, dtype=np.float32)

    def build(emit, x):
        w, b = emit("const", [], {"value": weight}), emit("const", [], {"value": bias})
        conv = emit("conv2d", [x, w, b], {"strides": (2, 1), "pads": (1, 0, 2, 1), "dilations": (1, 2), "groups": 2})
        mx = emit("max_pool2d", [x], {"kernel": (3, 2), "strides": (2, 2), "pads": (1, 1, 1, 0)})
        avg = emit("avg_pool2d", [x], {"kernel": (2, 3), "pads": (1, 1, 0, 1)})
        inc = emit("avg_pool2d", [x], {"kernel": (2, 3), "pads": (1, 1, 0, 1), "count_include_pad": True})
        return [conv, mx, avg, inc]

    assert_lowering_matches(graph_module([TensorType.of(["n", 4, 7, 6], f32)], build))


def test_pad_modes_and_negative_pads():
    def build(emit, x):
        return [
            emit("pad", [x], {"pads": (2, -1, 1, 3), "mode": "constant", "value": 1.5}),
            emit("pad", [x], {"pads": (3, 1, 2, 2), "mode": "reflect"}),
            emit("pad", [x], {"pads": (2, 0, 1, 3), "mode": "edge"}),
        ]

    assert_lowering_matches(graph_module([TensorType.of([3, 4], f32)], build))


# ---------------------------------------------------------------- rules and errors


def test_compute_rules_parse_into_statements():
    (stmt,) = parse_rules("out[..., i, j] += lhs[..., i, k] * rhs[..., k, j]")
    assert stmt.op == "+=" and stmt.is_reduction
    assert stmt.target.buffer == "out" and len(stmt.target.indices) == 3
    assert isinstance(stmt.value, BinOp) and stmt.value.op == "*"
    assert stmt.value.lhs == Access("lhs", stmt.value.lhs.indices)
    two = parse_rules("m[i, 0] max= x[i, j]; out[i, j] = x[i, j] - m[i, 0] where j < 4")
    assert [s.op for s in two] == ["max=", "="] and two[1].bounds["j"].__class__.__name__ == "Num"
    assert parse_rules("out[i] = select(x[i] >= 0, x[i], x[i] * alpha)")[0].value.args[2].rhs == Name("alpha")


@pytest.mark.parametrize(
    "text, message",
    [
        ("out[i] = exp(x[i], 2)", "exp takes 1 arguments"),
        ("out[i] = x[i] $ 2", "unexpected character"),
        ("x + 1", "must write an access"),
        ("out[i] := x[i]", "unexpected"),
    ],
)
def test_malformed_rules_are_refused(text, message):
    with pytest.raises(RuleError, match=message):
        parse_rules(text)


def test_an_op_without_a_lowering_is_a_located_error():
    block = Block(arg_types=[TensorType.of([2], f32)])
    block.add_op(const := arith.ConstantOp.from_int_and_width(1, 32))
    block.add_op(func.ReturnOp(block.args[0]))
    fn = func.FuncOp("main", ([TensorType.of([2], f32)], [TensorType.of([2], f32)]), Region(block))
    with pytest.raises(LaminaError, match="does not know how to lower 'arith.constant'"):
        lower_module(ModuleOp([fn]))
    assert const.parent is not None


def test_pass_is_a_module_pass_named_lower_graph_to_loop():
    module = graph_module([TensorType.of([2, 3], f32)], lambda emit, x: emit("tanh", [x]))
    assert LowerGraphToLoop.name == "lower-graph-to-loop"
    LowerGraphToLoop().apply(Context(), module)
    verify_op_tree(module)
    assert not ops_named(module, "graph.tanh") and ops_named(module, "math.tanh")


INTEGER_CASES = {
    "neg": {},
    "abs": {},
    "sign": {},
    "relu": {},
    "clip": {"min": -2.0, "max": 3.0},
    "reduce_sum": {"axes": (1,)},
    "reduce_max": {},
    "reduce_min": {"axes": (0,), "keepdims": False},
    "reduce_prod": {"axes": (1,)},
    "argmin": {"axis": 1},
    "pad": {"pads": (1, 2, 0, 1), "value": 2.0},
}


@pytest.mark.parametrize("name", list(INTEGER_CASES))
@pytest.mark.parametrize("elem", [i32, i8], ids=["i32", "i8"])
def test_integer_unary_ops_and_reductions_wrap_like_numpy(name, elem):
    module = graph_module([TensorType.of(["n", 5], elem)], lambda emit, x: emit(name, [x], INTEGER_CASES[name]))
    compiled = compile_function(lowered(module))
    for seed in range(2):
        inputs = int_inputs(module, seed)
        got, want = compiled.run(inputs)[0], run_graph(module, *inputs)[0]
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
