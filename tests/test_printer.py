"""The printer against expected text: custom forms from the op tables, type spelling, float and
constant formatting, resource blobs, compact arith/math, the generic form, locations."""

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr, ModuleOp, UnrealizedConversionCastOp
from xdsl.ir import Block, Region

from lamina.dialects.graph import Graph
from lamina.ir.printer import print_module, print_op
from lamina.ir.types import TensorType, f32
from lamina.parser import parse_module


def function(name: str, arg_types, build) -> func.FuncOp:
    """A function whose body `build(block, *args)` fills and whose results are what it returns."""
    block = Block(arg_types=list(arg_types))
    results = build(block, *block.args)
    block.add_op(func.ReturnOp(*results))
    return func.FuncOp(name, (list(arg_types), [r.type for r in results]), Region(block))


def add(block: Block, op, hint: str | None = None):
    block.add_op(op)
    if hint is not None:
        op.results[0].name_hint = hint
    return op.results[0]


def test_graph_function_built_in_python_prints_in_custom_form():
    def build(block, x, w):
        x.name_hint, w.name_hint = "x", "w"
        h = add(block, Graph["matmul"].build([x, w]), "h")
        b = add(block, Graph["const"].build([], {"value": np.array([0.5, -1.0], np.float32)}), "b")
        s = add(block, Graph["add"].build([h, b]))
        z = add(block, Graph["const"].build([], {"value": np.zeros((2, 2), np.float32)}))
        y = add(block, Graph["softmax"].build([s], {"axis": -1}), "y")
        t = add(block, Graph["softmax"].build([y], {"axis": 0}), "y")
        return [t, z]

    fn = function("mlp", [TensorType.of(["n", 3], f32), TensorType.of([3, 2], f32)], build)
    assert print_module(ModuleOp([fn])) == (
        "func.func @mlp(%x: tensor<n x 3 x f32>, %w: tensor<3x2xf32>) -> (tensor<n x 2 x f32>, tensor<2x2xf32>) {\n"
        "  %h = graph.matmul %x, %w : tensor<n x 2 x f32>\n"
        "  %b = graph.const dense<[0.5, -1.0]> : tensor<2xf32>\n"
        "  %0 = graph.add %h, %b : tensor<n x 2 x f32>\n"
        "  %1 = graph.const dense<0.0> : tensor<2x2xf32>\n"
        "  %y = graph.softmax %0 : tensor<n x 2 x f32>\n"
        "  %y_2 = graph.softmax %y {axis = 0} : tensor<n x 2 x f32>\n"
        "  func.return %y_2, %1 : tensor<n x 2 x f32>, tensor<2x2xf32>\n"
        "}\n"
    )


def test_types_print_compact_when_static_and_spaced_when_symbolic():
    text = (
        "func.func @f(%a: tensor<n x 8 x f32>, %b: tensor<4*n x f32>, %c: tensor<n*m + 1 x f32>, "
        "%d: tensor<f32>, %e: memref<2 x 3 x i32>, %g: index, %h: tensor<1x2x3xui8>) {\n  func.return\n}\n"
    )
    assert print_module(parse_module(text)) == (
        "func.func @f(%a: tensor<n x 8 x f32>, %b: tensor<4*n x f32>, %c: tensor<m*n+1 x f32>, "
        "%d: tensor<f32>, %e: memref<2x3xi32>, %g: index, %h: tensor<1x2x3xui8>) {\n  func.return\n}\n"
    )


def test_float_attributes_print_with_repr_and_read_back_exactly():
    alphas = [0.1, 1e-05, -0.0, 2.0, float("inf"), float("-inf"), float("nan"), 1 / 3]

    def build(block, a):
        v = a
        for alpha in alphas:
            v = add(block, Graph["leaky_relu"].build([v], {"alpha": alpha}))
        return [v]

    module = ModuleOp([function("f", [TensorType.of([4], f32)], build)])
    text = print_module(module)
    printed = [line.split("alpha = ")[1].split("}")[0] for line in text.splitlines() if "alpha" in line]
    assert printed == ["0.1", "1e-05", "-0.0", "2.0", "inf", "-inf", "nan", "0.3333333333333333"]
    again = parse_module(text)
    read = [op.attr("alpha") for op in again.ops.first.body.block.ops if op.name == "graph.leaky_relu"]
    assert [np.float64(a).tobytes() for a in read] == [np.float64(a).tobytes() for a in alphas]
    assert print_module(again) == text


def test_constants_inline_up_to_sixteen_elements_then_as_blobs():
    small = np.arange(16, dtype=np.int32).reshape(4, 4)
    large = np.arange(17, dtype=np.int32)

    def build(block):
        s = add(block, Graph["const"].build([], {"value": small}), "s")
        w = add(block, Graph["const"].build([], {"value": large}), "w")
        u = add(block, Graph["const"].build([], {"value": np.full(100, 2.5, np.float32)}), "u")
        return [s, w, u]

    text = print_module(ModuleOp([function("f", [], build)]))
    expected_blob = "0x04000000" + "".join(f"{k:02X}000000" for k in range(17))
    assert text == (
        "func.func @f() -> (tensor<4x4xi32>, tensor<17xi32>, tensor<100xf32>) {\n"
        "  %s = graph.const dense<[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]> : tensor<4x4xi32>\n"
        "  %w = graph.const dense_resource<w> : tensor<17xi32>\n"
        "  %u = graph.const dense<2.5> : tensor<100xf32>\n"
        "  func.return %s, %w, %u : tensor<4x4xi32>, tensor<17xi32>, tensor<100xf32>\n"
        "}\n"
        "\n"
        "{-#\n"
        "  dialect_resources: {\n"
        "    builtin: {\n"
        f'      w: "{expected_blob}"\n'
        "    }\n"
        "  }\n"
        "#-}\n"
    )


def test_blob_names_are_unique_across_functions_and_emitted_once_at_the_end():
    rng = np.random.default_rng(1)
    first, second = rng.standard_normal(20).astype(np.float32), rng.standard_normal(30).astype(np.float64)

    def with_const(value):
        return lambda block: [add(block, Graph["const"].build([], {"value": value}), "w")]

    module = ModuleOp([function("a", [], with_const(first)), function("b", [], with_const(second))])
    text = print_module(module)
    assert "dense_resource<w> : tensor<20xf32>" in text
    assert "dense_resource<w_1> : tensor<30xf64>" in text
    assert text.count("{-#") == 1 and text.rstrip().endswith("#-}")
    assert text.index("{-#") > text.rindex("func.return")
    assert '"0x08000000' in text  # f64 blobs carry an 8-byte alignment header
    again = parse_module(text)
    fa, fb = again.ops
    np.testing.assert_array_equal(fa.body.block.first_op.properties["value"].array, first)
    np.testing.assert_array_equal(fb.body.block.first_op.properties["value"].array, second)


def test_arith_and_math_print_compactly_and_unusual_flags_fall_back_to_generic():
    def build(block, x, y):
        fast = add(block, arith.AddfOp(x, y, flags=arith.FastMathFlagsAttr("fast")))
        plain = add(block, arith.MulfOp(fast, y))
        less = add(block, arith.CmpfOp(plain, y, "olt"))
        chosen = add(block, arith.SelectOp(less, plain, y))
        add(block, arith.ConstantOp(IntegerAttr(7, IndexType())))
        add(block, arith.ConstantOp(IntegerAttr(1, 1)))
        add(block, arith.ConstantOp(FloatAttr(-1.5, f32)))
        return [add(block, xmath.ExpOp(chosen))]

    text = print_module(ModuleOp([function("k", [f32, f32], build)]))
    assert text == (
        "func.func @k(%0: f32, %1: f32) -> f32 {\n"
        '  %2 = "arith.addf"(%0, %1) <{fastmath = #arith.fastmath<fast>}> : (f32, f32) -> f32\n'
        "  %3 = arith.mulf %2, %1 : f32\n"
        "  %4 = arith.cmpf olt, %3, %1 : i1\n"
        "  %5 = arith.select %4, %3, %1 : f32\n"
        "  %6 = arith.constant 7 : index\n"
        "  %7 = arith.constant true : i1\n"
        "  %8 = arith.constant -1.5 : f32\n"
        "  %9 = math.exp %5 : f32\n"
        "  func.return %9 : f32\n"
        "}\n"
    )
    assert print_module(parse_module(text)) == text


def test_ops_without_a_custom_form_print_generically_and_read_back():
    def build(block, a):
        cast = UnrealizedConversionCastOp.get([a], [TensorType.of([4], f32)])
        return [add(block, cast)]

    text = print_module(ModuleOp([function("f", [TensorType.of([4], f32)], build)]))
    assert '%1 = "builtin.unrealized_conversion_cast"(%0) : (tensor<4xf32>) -> tensor<4xf32>\n' in text
    assert print_module(parse_module(text)) == text


def test_generic_form_of_a_whole_function():
    text = (
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %r = graph.softmax %a {axis = 0} : tensor<4xf32>\n"
        "  func.return %r : tensor<4xf32>\n"
        "}\n"
    )
    generic = print_module(parse_module(text), generic=True)
    assert generic == (
        '"func.func"() <{sym_name = "f", function_type = (tensor<4xf32>) -> tensor<4xf32>}> ({\n'
        "^bb0(%a: tensor<4xf32>):\n"
        '  %r = "graph.softmax"(%a) <{axis = 0 : i64}> : (tensor<4xf32>) -> tensor<4xf32>\n'
        '  "func.return"(%r) : (tensor<4xf32>) -> ()\n'
        "}) : () -> ()\n"
    )
    assert print_module(parse_module(generic)) == text


def test_region_ops_print_with_argument_lists_and_indented_bodies():
    text = (
        "func.func @fill(%out: memref<4xf32>) {\n"
        "  %lo = arith.constant 0 : index\n"
        "  %hi = arith.constant 4 : index\n"
        '  loop.for %lo, %hi {kind = "parallel", label = "i"} (%i: index) {\n'
        "    %one = arith.constant 1.0 : f32\n"
        "    loop.store %one, %out, %i\n"
        "    loop.yield\n"
        "  }\n"
        "  func.return\n"
        "}\n"
    )
    assert print_module(parse_module(text)) == text


def test_locations_print_only_with_debuginfo_and_survive_a_round_trip():
    text = (
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %r = graph.relu %a\n"
        "  func.return %r : tensor<4xf32>\n"
        "}\n"
    )
    module = parse_module(text, "model.mlir")
    assert "loc(" not in print_module(module)
    with_locs = print_module(module, debuginfo=True)
    assert with_locs == (
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
        '  %r = graph.relu %a : tensor<4xf32> loc("model.mlir":2:3)\n'
        '  func.return %r : tensor<4xf32> loc("model.mlir":3:3)\n'
        '} loc("model.mlir":1:1)\n'
    )
    assert print_module(parse_module(with_locs, "elsewhere.mlir"), debuginfo=True) == with_locs


def test_print_op_prints_one_op():
    text = "func.func @f(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {\n  %t = graph.transpose %a {perm = [1, 0]}\n  func.return %t : tensor<3x2xf32>\n}\n"
    transpose = parse_module(text).ops.first.body.block.first_op
    assert print_op(transpose) == "%t = graph.transpose %a {perm = [1, 0]} : tensor<3x2xf32>\n"
