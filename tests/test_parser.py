"""The parser on each form of docs/text-format.md: what it builds (ops, types, attribute values,
constants, locations), checked against the IR and against numpy through the interpreter."""

import math
import time

import numpy as np
import pytest
from xdsl.dialects import arith, func, math as xmath
from xdsl.dialects.builtin import FileLineColLoc, FloatAttr, IntegerAttr, IntegerType, ModuleOp, StringAttr

from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_function
from lamina.ir.dense import DenseElementsAttr
from lamina.ir.diagnostics import LaminaError, location_of
from lamina.ir.dims import SymDim, dim_add, dim_mul
from lamina.ir.types import BufferType, TensorType, f32, f64, i32, i64, index
from lamina.parser import parse_module


def only_function(module: ModuleOp) -> func.FuncOp:
    (fn,) = module.ops
    assert isinstance(fn, func.FuncOp)
    return fn


def ops_of(module: ModuleOp) -> list:
    return list(only_function(module).body.block.ops)


MLP = """// a two-layer perceptron
func.func @mlp(%x: tensor<n x 3 x f32>, %w: tensor<3x2xf32>) -> tensor<n x 2 x f32> {
  %h = graph.matmul %x, %w : tensor<n x 2 x f32>
  %b = graph.const dense<[0.5, -1.0]> : tensor<2xf32>
  %s = graph.add %h, %b   // result type inferred
  %y = graph.softmax %s {axis = 0} : tensor<n x 2 x f32>
  func.return %y : tensor<n x 2 x f32>
}
"""


def test_function_with_graph_ops_builds_the_ops_the_text_names():
    module = parse_module(MLP, "mlp.mlir")
    fn = only_function(module)
    assert fn.sym_name.data == "mlp"
    n = SymDim.symbol("n")
    assert [a.type for a in fn.body.block.args] == [TensorType.of([n, 3], f32), TensorType.of([3, 2], f32)]
    assert list(fn.function_type.outputs.data) == [TensorType.of([n, 2], f32)]
    matmul, const, add, softmax, ret = ops_of(module)
    assert isinstance(matmul, Graph["matmul"]) and isinstance(softmax, Graph["softmax"])
    assert add.results[0].type == TensorType.of([n, 2], f32)  # inferred from the row
    assert softmax.attr("axis") == 0
    assert matmul.operands[0] is fn.body.block.args[0]
    assert softmax.operands[0] is add.results[0]
    assert isinstance(ret, func.ReturnOp) and ret.operands[0] is softmax.results[0]
    assert [r.name_hint for r in (matmul.results[0], const.results[0])] == ["h", "b"]


def test_parsed_function_computes_what_numpy_computes():
    module = parse_module(MLP, "mlp.mlir")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    (got,) = run_function(module, x, w)
    s = x @ w + np.array([0.5, -1.0], np.float32)
    want = np.exp(s - s.max(axis=0)) / np.exp(s - s.max(axis=0)).sum(axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_defaults_are_filled_in_and_attribute_kinds_read_as_python_values():
    text = """func.func @f(%a: tensor<2x6xf32>) -> tensor<3x4xf32> {
  %r = graph.reshape %a {shape = [3, 4]}
  %l = graph.leaky_relu %r {alpha = 1e-05}
  %s = graph.softmax %l
  func.return %s : tensor<3x4xf32>
}"""
    reshape, leaky, softmax, _ = ops_of(parse_module(text))
    assert reshape.attr("shape") == (3, 4)
    assert leaky.attr("alpha") == 1e-05
    assert softmax.attr("axis") == -1
    assert softmax.results[0].type == TensorType.of([3, 4], f32)


@pytest.mark.parametrize(
    "written, value",
    [("0.1", 0.1), ("-2.5", -2.5), ("1e-07", 1e-07), ("3", 3.0), ("inf", math.inf), ("-inf", -math.inf)],
)
def test_float_attributes_read_exactly(written, value):
    text = f"func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {{\n  %l = graph.leaky_relu %a {{alpha = {written}}}\n  func.return %l : tensor<4xf32>\n}}"
    (leaky, _) = ops_of(parse_module(text))
    assert leaky.attr("alpha") == value


def test_nan_float_attribute():
    text = "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n  %l = graph.leaky_relu %a {alpha = nan}\n  func.return %l : tensor<4xf32>\n}"
    (leaky, _) = ops_of(parse_module(text))
    assert math.isnan(leaky.attr("alpha"))


def test_symbolic_types_with_polynomial_dims():
    text = """func.func @f(%a: tensor<n x 8 x f32>, %b: tensor<4*n x f32>, %c: tensor<n*m+1 x f32>, %d: tensor<f32>, %e: memref<2x3xi32>, %g: index) {
  func.return
}"""
    args = only_function(parse_module(text)).body.block.args
    n, m = SymDim.symbol("n"), SymDim.symbol("m")
    assert args[0].type == TensorType.of([n, 8], f32)
    assert args[1].type == TensorType.of([dim_mul(4, n)], f32)
    assert args[2].type == TensorType.of([dim_add(dim_mul(n, m), 1)], f32)
    assert args[3].type == TensorType.of([], f32)
    assert args[4].type == BufferType.of([2, 3], i32)
    assert args[5].type == index


def test_dense_constants_inline_splat_and_integer():
    text = """func.func @f() -> (tensor<2x2xf32>, tensor<3xf64>, tensor<2xi64>, tensor<2xi1>) {
  %a = graph.const dense<[[1.0, 2.5], [-3.0, 4.0]]> : tensor<2x2xf32>
  %s = graph.const dense<0.5> : tensor<3xf64>
  %i = graph.const dense<[7, -9]> : tensor<2xi64>
  %p = graph.const dense<[true, false]> : tensor<2xi1>
  func.return %a, %s, %i, %p : tensor<2x2xf32>, tensor<3xf64>, tensor<2xi64>, tensor<2xi1>
}"""
    a, s, i, p = run_function(parse_module(text))
    np.testing.assert_array_equal(a, np.array([[1.0, 2.5], [-3.0, 4.0]], np.float32))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(s, np.full(3, 0.5))
    assert s.dtype == np.float64
    np.testing.assert_array_equal(i, np.array([7, -9], np.int64))
    np.testing.assert_array_equal(p, np.array([True, False]))


def test_resource_blob_reads_bytes_into_numpy_even_when_the_section_comes_first():
    values = np.arange(20, dtype=np.float32) * 0.25 - 1.0
    blob = "0x04000000" + values.astype("<f4").tobytes().hex()
    text = f"""{{-#
  dialect_resources: {{
    builtin: {{
      w: "{blob}"
    }}
  }}
#-}}
func.func @f() -> tensor<4x5xf32> {{
  %w = graph.const dense_resource<w> : tensor<4x5xf32>
  func.return %w : tensor<4x5xf32>
}}
"""
    module = parse_module(text)
    (const, _) = ops_of(module)
    value = const.properties["value"]
    assert isinstance(value, DenseElementsAttr)
    np.testing.assert_array_equal(value.array, values.reshape(4, 5))
    assert value.array.dtype == np.float32


def test_generic_form_input_for_table_ops_and_func():
    text = """"func.func"() <{sym_name = "g", function_type = (tensor<4xf32>) -> tensor<4xf32>}> ({
^bb0(%a: tensor<4xf32>):
  %r = "graph.softmax"(%a) <{axis = 0 : i64}> : (tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%r) : (tensor<4xf32>) -> ()
}) : () -> ()
"""
    module = parse_module(text)
    fn = only_function(module)
    assert fn.sym_name.data == "g"
    softmax, ret = fn.body.block.ops
    assert isinstance(softmax, Graph["softmax"]) and softmax.attr("axis") == 0
    assert isinstance(ret, func.ReturnOp)
    (out,) = run_function(module, np.array([0.0, 1.0, 2.0, 3.0], np.float32))
    e = np.exp(np.arange(4.0) - 3.0)
    np.testing.assert_allclose(out, e / e.sum(), rtol=1e-6)


def test_module_wrapper_is_optional_and_gives_the_same_ops():
    plain = parse_module(MLP)
    wrapped = parse_module("builtin.module {\n" + MLP + "}\n")
    assert [op.name for op in ops_of(plain)] == [op.name for op in ops_of(wrapped)]
    assert isinstance(wrapped, ModuleOp) and len(list(wrapped.ops)) == 1


def test_several_functions_and_func_attributes():
    text = """func.func private @a(%x: f32) -> f32 attributes {note = "k", level = 3} {
  func.return %x : f32
}

func.func @b() {
  func.return
}
"""
    a, b = parse_module(text).ops
    assert a.sym_visibility == StringAttr("private")
    assert a.attributes["note"] == StringAttr("k")
    assert a.attributes["level"] == IntegerAttr(3, i64)
    assert b.sym_name.data == "b" and list(b.function_type.inputs.data) == []


def test_multiple_results():
    text = """func.func @f(%a: tensor<6xf32>) -> (tensor<2xf32>, tensor<4xf32>) {
  %p, %q = graph.split %a {axis = 0, sizes = [2, 4]}
  func.return %p, %q : tensor<2xf32>, tensor<4xf32>
}"""
    p, q = run_function(parse_module(text), np.arange(6, dtype=np.float32))
    np.testing.assert_array_equal(p, [0, 1])
    np.testing.assert_array_equal(q, [2, 3, 4, 5])


def test_every_op_gets_the_location_of_its_first_token_and_loc_overrides():
    text = """func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = graph.relu %a
  %u = graph.relu %r loc("model.onnx":12:5)
  func.return %r : tensor<4xf32>
}"""
    module = parse_module(text, "locs.mlir", first_line=30)
    fn = only_function(module)
    relu, unused, ret = fn.body.block.ops
    assert str(location_of(fn)) == "locs.mlir:30:1"
    assert str(location_of(relu)) == "locs.mlir:31:3"
    assert str(location_of(unused)) == "model.onnx:12:5"
    assert str(location_of(ret)) == "locs.mlir:33:3"
    assert isinstance(relu.location, FileLineColLoc)


ARITH = """func.func @k(%x: f32, %y: f32, %i: index, %v: i32) -> f32 {
  %c = arith.constant 1.5 : f32
  %n = arith.constant -3 : i32
  %t = arith.constant true : i1
  %s = arith.addf %x, %c : f32
  %p = arith.cmpf olt, %s, %y : f32
  %q = arith.cmpi sge, %v, %n : i1
  %r = arith.select %p, %s, %y : f32
  %e = math.exp %r : f32
  %j = arith.index_cast %i : i64
  %f = arith.sitofp %v : f64
  func.return %e : f32
}"""


def test_arith_and_math_compact_forms():
    c, n, t, s, p, q, r, e, j, f, _ = ops_of(parse_module(ARITH))
    assert isinstance(c, arith.ConstantOp) and c.value == FloatAttr(1.5, f32)
    assert n.value == IntegerAttr(-3, i32)
    assert t.value == IntegerAttr(1, IntegerType(1))
    assert isinstance(s, arith.AddfOp) and s.result.type == f32
    # `: f32` after a comparison is its operand type (MLIR's spelling); `: i1` is its result type.
    assert isinstance(p, arith.CmpfOp) and p.predicate.value.data == 4 and p.result.type == IntegerType(1)
    assert isinstance(q, arith.CmpiOp) and q.predicate.value.data == 5 and q.result.type == IntegerType(1)
    assert isinstance(r, arith.SelectOp) and r.operands[0] is p.result
    assert isinstance(e, xmath.ExpOp) and e.result.type == f32
    assert isinstance(j, arith.IndexCastOp) and j.result.type == i64
    assert isinstance(f, arith.SIToFPOp) and f.result.type == f64


def test_region_ops_of_the_loop_dialect_read_in_custom_form():
    text = """func.func @fill(%out: memref<4xf32>) {
  %lo = arith.constant 0 : index
  %hi = arith.constant 4 : index
  loop.for %lo, %hi {kind = "parallel", label = "i"} (%i: index) {
    %one = arith.constant 1.0 : f32
    loop.store %one, %out, %i
    loop.yield
  }
  func.return
}"""
    fn = only_function(parse_module(text))
    _, _, loop_for, _ = fn.body.block.ops
    assert loop_for.name == "loop.for"
    assert loop_for.attr("label") == "i"
    (body,) = loop_for.regions
    (i,) = body.block.args
    assert i.type == index
    store = list(body.block.ops)[1]
    assert store.name == "loop.store" and store.operands[2] is i and store.operands[1] is fn.body.block.args[0]


def test_comments_blank_lines_and_trailing_text_without_newline():
    text = "// leading comment\n\n\nfunc.func @f() {  // trailing\n\n  // inside\n  func.return\n}"
    fn = only_function(parse_module(text))
    assert [op.name for op in fn.body.block.ops] == ["func.return"]


def test_ten_thousand_ops_parse_in_a_few_seconds():
    lines = ["func.func @big(%a: tensor<n x 8 x f32>) -> tensor<n x 8 x f32> {"]
    previous = "%a"
    for k in range(10_000):
        if k % 3 == 0:
            lines.append(f"  %v{k} = graph.add {previous}, %a : tensor<n x 8 x f32>")
        elif k % 3 == 1:
            lines.append(f"  %v{k} = graph.softmax {previous} {{axis = 0}} : tensor<n x 8 x f32>")
        else:
            lines.append(f"  %v{k} = graph.relu {previous}")
        previous = f"%v{k}"
    lines += [f"  func.return {previous} : tensor<n x 8 x f32>", "}"]
    start = time.perf_counter()
    module = parse_module("\n".join(lines), "big.mlir")
    elapsed = time.perf_counter() - start
    assert len(ops_of(module)) == 10_001
    # About 3 s on one of this project's CI cores; a quadratic parser would take minutes.
    assert elapsed < 20, f"parsing 10k ops took {elapsed:.1f} s"


def test_a_dialect_added_to_the_registry_parses_and_prints_with_no_parser_change(monkeypatch):
    from lamina.dialects import registry
    from lamina.ir import optable
    from lamina.ir.printer import print_module
    from lamina.parser import builder

    rows = [
        optable.OpRow(
            "tag",
            operands=(optable.Operand("x"),),
            results=(optable.Result("y"),),
            attrs=(optable.Attr("label", "str", positional=True), optable.Attr("factor", "float", default=1.0)),
            infer=lambda view: [view.operand_types[0]],
        ),
        optable.OpRow(
            "repeat",
            operands=(optable.Operand("count", kind="index"),),
            regions=(optable.Region("body"),),
        ),
    ]
    toy = optable.build_dialect("toy", rows)
    tables = {**registry.table_dialects(), "toy": toy}
    ops = {**registry.all_ops(), **toy.ops}
    monkeypatch.setattr(builder, "table_dialects", lambda: tables)
    monkeypatch.setattr(builder, "all_ops", lambda: ops)
    text = (
        "func.func @f(%a: tensor<4xf32>, %n: index) -> tensor<4xf32> {\n"
        '  %t = toy.tag "first", %a {factor = 2.5} : tensor<4xf32>\n'
        '  %u = toy.tag "second", %t : tensor<4xf32>\n'
        "  toy.repeat %n (%i: index) {\n"
        "  }\n"
        "  func.return %u : tensor<4xf32>\n"
        "}\n"
    )
    module = parse_module(text, "toy.mlir")
    tag, second, repeat, _ = ops_of(module)
    assert isinstance(tag, toy["tag"]) and tag.attr("label") == "first" and tag.attr("factor") == 2.5
    assert second.attr("factor") == 1.0
    assert isinstance(repeat, toy["repeat"]) and repeat.regions[0].block.args[0].type == index
    assert print_module(module) == text
    with pytest.raises(LaminaError, match="unknown attribute 'scale' of 'toy.tag'"):
        parse_module(text.replace("factor = 2.5", "scale = 2.5"), "toy.mlir")
