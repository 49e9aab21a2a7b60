"""The loop dialect table and its interpreter: hand-built loop nests (matmul with an init region,
guarded non-dividing tiles, masked lanes) run and agree with numpy; the verifier refuses bad IR;
out-of-bounds accesses are located errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Region

from lamina.dialects.loop import Loop
from lamina.dialects.registry import table_dialects
from lamina.interpreter.loop import OUTPUTS_ATTR, compile_function, run_function
from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import parse_dim
from lamina.ir.types import BufferType, f32, i1, index
from lamina.ir.verify import verify_op_tree
from lamina.lowering.graph_to_loop import lower_module
from lamina.lowering.loop_builder import LoopBuilder
from lamina.testing import graph_functions, inputs_for


def loop_function(arg_types, n_outputs, fill):
    block = Block(arg_types=list(arg_types))
    fill(LoopBuilder(block), *block.args)
    block.add_op(func.ReturnOp())
    fn = func.FuncOp("main", (list(arg_types), []), Region(block))
    fn.attributes[OUTPUTS_ATTR] = IntegerAttr(n_outputs, 64)
    module = ModuleOp([fn])
    verify_op_tree(module)
    return module


def matmul_module(outer_kind: str, k_extent: int = 8):
    a_t, b_t, c_t = BufferType.of(["n", k_extent], f32), BufferType.of([k_extent, 5], f32), BufferType.of(["n", 5], f32)

    def fill(b, a, w, c):
        with b.loop(b.index(0), b.size(parse_dim("n")), outer_kind, "i") as i:
            with b.loop(b.index(0), b.index(5), "parallel", "j") as j:
                with b.loop(b.index(0), b.index(k_extent), "reduction", "k") as k:
                    init, body = b.block("matmul", [i, j, k], "SSR", ["n", 5, k_extent])
                    with b.at(init):
                        b.store(b.constant(0.0, f32), c, init.args[:2])
                    b.finish(init)
                    with b.at(body):
                        vi, vj, vk = body.args
                        prod = b.add(arith.MulfOp(b.load(a, [vi, vk]), b.load(w, [vk, vj]))).result
                        b.store(b.add(arith.AddfOp(b.load(c, [vi, vj]), prod)).result, c, [vi, vj])
                    b.finish(body)

    return loop_function([a_t, b_t, c_t], 1, fill)


def test_registry_discovers_the_loop_dialect():
    assert table_dialects()["loop"] is Loop
    assert {"loop.for", "loop.block", "loop.load", "loop.store", "loop.alloc"} <= set(Loop.ops)


@pytest.mark.parametrize("outer_kind", ["parallel", "serial", "reduction"])
def test_matmul_with_init_region_matches_numpy(outer_kind):
    module = matmul_module(outer_kind)
    compiled = compile_function(module)
    rng = np.random.default_rng(0)
    for n in (1, 3, 6):
        x, w = rng.standard_normal((n, 8), dtype=np.float32), rng.standard_normal((8, 5), dtype=np.float32)
        (out,) = compiled.run([x, w])
        np.testing.assert_allclose(out, x @ w, rtol=1e-5, atol=1e-5)


def test_guarded_tiles_of_a_non_dividing_split():
    # out[i] = x[i] * 2 over 10 elements as 3 tiles of 4, the last guarded by loop.if.
    def fill(b, x, out):
        with b.loop(b.index(0), b.index(3), "parallel", "io") as io:
            with b.loop(b.index(0), b.index(4), "parallel", "ii") as ii:
                i = b.add(arith.AddiOp(b.add(arith.MuliOp(io, b.index(4))).result, ii)).result
                inside = b.add(arith.CmpiOp(i, b.index(10), "slt")).result
                then = Block()
                b.add(Loop["if"].build([inside], {}, [], [Region(then)]))
                with b.at(then):
                    v = b.load(x, [i])
                    b.store(b.add(arith.AddfOp(v, v)).result, out, [i])
                b.finish(then)

    module = loop_function([BufferType.of([10], f32), BufferType.of([10], f32)], 1, fill)
    x = np.arange(10, dtype=np.float32)
    (out,) = run_function(module, x)
    np.testing.assert_array_equal(out, 2 * x)


def test_lane_dependent_inner_bounds_are_masked():
    # Triangle: out[i] = sum_{j < i} 1, with a serial inner loop whose bound varies per lane.
    def fill(b, out):
        with b.loop(b.index(0), b.index(6), "parallel", "i") as i:
            b.store(b.constant(0.0, f32), out, [i])
            with b.loop(b.index(0), i, "serial", "j"):
                acc = b.load(out, [i])
                b.store(b.add(arith.AddfOp(acc, b.constant(1.0, f32))).result, out, [i])

    module = loop_function([BufferType.of([6], f32)], 1, fill)
    (out,) = run_function(module)
    np.testing.assert_array_equal(out, np.arange(6, dtype=np.float32))


def test_a_buffer_allocated_inside_a_parallel_loop_belongs_to_each_iteration():
    # out[i, j] = x[i, j] + x[i, 3 - j] through a local row buffer allocated per iteration of
    # the parallel i (its iterations run as lanes at once: each lane needs its own copy).
    def fill(b, x, out):
        with b.loop(b.index(0), b.index(5), "parallel", "i") as i:
            row = b.alloc(BufferType.of([4], f32), "local")
            with b.loop(b.index(0), b.index(4), "parallel", "j") as j:
                b.store(b.load(x, [i, j]), row, [j])
            with b.loop(b.index(0), b.index(4), "serial", "j2") as j2:
                mirrored = b.add(arith.SubiOp(b.index(3), j2)).result
                b.store(b.add(arith.AddfOp(b.load(row, [j2]), b.load(row, [mirrored]))).result, out, [i, j2])

    module = loop_function([BufferType.of([5, 4], f32), BufferType.of([5, 4], f32)], 1, fill)
    x = np.arange(20, dtype=np.float32).reshape(5, 4)
    (out,) = run_function(module, x)
    np.testing.assert_array_equal(out, x + x[:, ::-1])


def test_out_of_bounds_access_is_a_located_error():
    def fill(b, x, out):
        with b.loop(b.index(0), b.index(5), "parallel", "i") as i:
            b.store(b.load(x, [i]), out, [i])

    module = loop_function([BufferType.of([4], f32), BufferType.of([4], f32)], 1, fill)
    with pytest.raises(LaminaError, match="index 4 is out of bounds for axis 0 of size 4"):
        run_function(module, np.zeros(4, np.float32))


def test_verifier_refuses_mistyped_store_and_bad_iter_kinds():
    def bad_store(b, out):
        b.store(b.constant(1, index), out, [b.index(0)])

    with pytest.raises(LaminaError, match="does not match"):
        loop_function([BufferType.of([4], f32)], 1, bad_store)

    def bad_block(b, out):
        b.block("x", [b.index(0)], "Q", [4])

    with pytest.raises(LaminaError, match="iter_kinds"):
        loop_function([BufferType.of([4], f32)], 1, bad_block)

    def bad_if(b, out):
        b.add(Loop["if"].build([b.constant(1.0, f32)], {}, [], [Region(Block())]))

    with pytest.raises(LaminaError, match="condition must be i1"):
        loop_function([BufferType.of([4], f32)], 1, bad_if)


def test_symbolic_sizes_bind_from_inputs_and_mismatches_are_refused():
    module = matmul_module("parallel")
    with pytest.raises(LaminaError, match="axis 1 must be 8"):
        run_function(module, np.zeros((2, 7), np.float32), np.zeros((8, 5), np.float32))


def test_verifier_checks_region_arguments():
    def bad_block(b, out):
        b.add(Loop["block"].build([b.index(0)], {"label": "x", "iter_kinds": "S", "domain": [4]}, [], [Region(Block()), Region(Block())]))

    with pytest.raises(LaminaError, match="init region must take 1 index argument"):
        loop_function([BufferType.of([4], f32)], 1, bad_block)

    def bad_for(b, out):
        b.add(Loop["for"].build([b.index(0), b.index(4)], {}, [], [Region(Block(arg_types=[f32]))]))

    with pytest.raises(LaminaError, match="body region must take 1 index argument"):
        loop_function([BufferType.of([4], f32)], 1, bad_for)


def test_unordered_and_ordered_float_comparisons():
    preds = ["oeq", "one", "olt", "ueq", "une", "ult", "ord", "uno"]

    def fill(b, x, y, *outs):
        with b.loop(b.index(0), b.index(3), "parallel", "i") as i:
            a, c = b.load(x, [i]), b.load(y, [i])
            for pred, out in zip(preds, outs):
                b.store(b.add(arith.CmpfOp(a, c, pred)).result, out, [i])

    types = [BufferType.of([3], f32)] * 2 + [BufferType.of([3], i1)] * len(preds)
    module = loop_function(types, len(preds), fill)
    x = np.array([1.0, np.nan, 2.0], np.float32)
    y = np.array([1.0, 1.0, 3.0], np.float32)
    got = dict(zip(preds, run_function(module, x, y)))
    nan = np.isnan(x) | np.isnan(y)
    np.testing.assert_array_equal(got["oeq"], x == y)
    np.testing.assert_array_equal(got["one"], (x != y) & ~nan)
    np.testing.assert_array_equal(got["olt"], x < y)
    np.testing.assert_array_equal(got["ueq"], (x == y) | nan)
    np.testing.assert_array_equal(got["une"], x != y)
    np.testing.assert_array_equal(got["ult"], (x < y) | nan)
    np.testing.assert_array_equal(got["ord"], ~nan)
    np.testing.assert_array_equal(got["uno"], nan)


def _serialized(module: ModuleOp) -> ModuleOp:
    """The same program with every loop sequential: the plain semantics the vectorized
    execution of parallel loops must reproduce."""
    out = module.clone()
    for op in out.walk():
        if op.name == "loop.for" and op.attr("kind") == "parallel":
            op.properties["kind"] = StringAttr("serial")
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=4))
def test_vectorized_parallel_loops_equal_sequential_execution(module):
    loops = module.clone()
    lower_module(loops)
    inputs = inputs_for(module, seed=0, symbols={"n": 3})
    vector = run_function(loops, *inputs)
    serial = run_function(_serialized(loops), *inputs)
    for v, s in zip(vector, serial):
        np.testing.assert_array_equal(v, s)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=4))
def test_loop_ir_round_trips_through_the_generic_text_form(module):
    from lamina.ir.printer import print_module
    from lamina.parser import parse_module

    loops = module.clone()
    lower_module(loops)
    text = print_module(loops, generic=True)
    reparsed = parse_module(text, "lowered.mlir")
    verify_op_tree(reparsed)
    assert print_module(reparsed, generic=True) == text
    inputs = inputs_for(module, seed=0, symbols={"n": 2})
    for a, b in zip(run_function(loops, *inputs), run_function(reparsed, *inputs)):
        np.testing.assert_array_equal(a, b)
