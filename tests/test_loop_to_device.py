"""lower-loop-to-device + the llvm target against the loop interpreter, on hand-built loop nests:
vectorized elementwise code with a tail, a reduction block with its init, unrolling, parallel
loops, a planned intermediate buffer and symbolic sizes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects import arith, func, math
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, ModuleOp
from xdsl.ir import Block, Region

from lamina.interpreter.loop import run_function as run_loop
from lamina.ir.dims import parse_dim
from lamina.ir.types import BufferType, f32
from lamina.ir.verify import verify_op_tree
from lamina.lowering.loop_builder import LoopBuilder
from lamina.lowering.loop_to_device import WORKSPACE_ATTR, lower_module
from lamina.runtime.abi import ModuleSignature, TensorSpec
from lamina.targets.c_target import build_c_model
from lamina.targets.llvm_target import build_llvm_model
from lamina.targets.host import host_target


def loop_function(arg_types, n_outputs, build):
    block = Block(arg_types=arg_types)
    b = LoopBuilder(block)
    build(b, *block.args)
    block.add_op(func.ReturnOp())
    fn = func.FuncOp("main", (arg_types, []), Region(block))
    fn.attributes["lamina.outputs"] = IntegerAttr(n_outputs, 64)
    return ModuleOp([fn])


def compile_and_compare(module, specs_in, specs_out, symbols, inputs, threads=2):
    verify_op_tree(module)
    expected = run_loop(module, *inputs)
    lower_module(module)
    verify_op_tree(module)
    fn = next(iter(module.ops))
    ws = fn.attributes.get(WORKSPACE_ATTR)
    sig = ModuleSignature("t", tuple(specs_in), tuple(specs_out), tuple(symbols))
    workspace = parse_dim(ws.data) if ws else None
    for model in (build_llvm_model(module, sig, threads=threads, workspace=workspace), build_c_model(module, sig, threads, workspace)):
        got = model(*inputs)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    return module


def matmul_nest(b, a, w, acc, m, n, k, init_value) -> dict:
    """acc[i, j] = init_value(i, j) + sum_r a[i, r] * w[r, j], the init inside the reduction
    loop; returns the loops by label (i, j, r)."""
    with b.loop(b.index(0), b.index(m), kind="parallel", label="i") as i:
        with b.loop(b.index(0), b.index(n), kind="parallel", label="j") as j:
            with b.loop(b.index(0), b.index(k), kind="reduction", label="r") as r:
                init, body = b.block("matmul", [i, j, r], "SSR", [m, n, k])
                with b.at(init):
                    b.store(init_value(init.args[0], init.args[1]), acc, [init.args[0], init.args[1]])
                b.finish(init)
                with b.at(body):
                    bi, bj, bk = body.args
                    prod = b.add(arith.MulfOp(b.load(a, [bi, bk]), b.load(w, [bk, bj]))).result
                    b.store(b.add(arith.AddfOp(b.load(acc, [bi, bj]), prod)).result, acc, [bi, bj])
                b.finish(body)
    return {op.attr("label"): op for op in b.insertion.walk() if op.name == "loop.for" and op.attr("label") in ("i", "j", "r")}


def spec(name, shape):
    return TensorSpec(name, np.dtype(np.float32), tuple(parse_dim(d) if isinstance(d, str) else d for d in shape))


@pytest.mark.parametrize("cols", [5, 16, 37])
def test_vectorized_elementwise_with_tail_and_symbolic_rows(cols):
    types = [BufferType.of(["n", cols], f32), BufferType.of([cols], f32), BufferType.of(["n", cols], f32)]

    def build(b, x, bias, out):
        n = b.size(parse_dim("n"))
        with b.loop(b.index(0), n, kind="parallel", label="i") as i:
            with b.loop(b.index(0), b.index(cols), kind="parallel", label="j") as j:
                init, body = b.block("add", [i, j], "SS", ["n", cols])
                b.finish(init)
                with b.at(body):
                    s = b.add(arith.AddfOp(b.add(math.TanhOp(b.load(x, [body.args[0], body.args[1]]))).result, b.load(bias, [body.args[1]]))).result
                    b.store(s, out, [body.args[0], body.args[1]])
                b.finish(body)
        inner = next(op for op in b.insertion.walk() if op.name == "loop.for" and op.attr("label") == "j")
        inner.properties["vectorize"] = IntegerAttr(1, 1)

    module = loop_function(types, 1, build)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((6, cols)).astype(np.float32), rng.standard_normal(cols).astype(np.float32)]
    lowered = compile_and_compare(module, [spec("x", ("n", cols)), spec("bias", (cols,))], [spec("out", ("n", cols))], ["n"], inputs)
    names = {op.name for op in lowered.walk()}
    lanes = host_target().vector_lanes(4)
    # Fewer columns than lanes: no whole vector, so only the scalar loop is emitted.
    assert ("device.vload" in names and "device.vstore" in names) == (cols >= lanes)
    assert "device.parallel_for" in names
    loops = [op for op in lowered.walk() if op.name == "device.for"]
    # A static column count gets the loops it needs: a loop of one trip is its body in place.
    assert len(loops) == (cols // lanes > 1) + (cols % lanes > 1)


@pytest.mark.parametrize("k, unroll", [(1, 1), (1, 4), (3, 4), (4, 4), (5, 4), (8, 4), (9, 4), (7, 7), (2, 3)])
def test_unrolled_reduction_of_static_extent(k, unroll):
    """A reduction unrolled by `unroll` over k static steps: the main loop runs 0, 1 or more
    times (once is emitted in place) and so does the remainder; in place, only the copy at
    k = 0 stores the init."""
    m, n = 3, 5
    types = [BufferType.of([m, k], f32), BufferType.of([k, n], f32), BufferType.of([m, n], f32)]

    def build(b, a, w, out):
        loops = matmul_nest(b, a, w, out, m, n, k, lambda i, j: b.constant(0.5, f32))
        loops["r"].properties["unroll"] = IntegerAttr(unroll, 64)

    module = loop_function(types, 1, build)
    rng = np.random.default_rng(k * 10 + unroll)
    inputs = [rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)]
    np.testing.assert_allclose(run_loop(module, *inputs)[0], inputs[0] @ inputs[1] + 0.5, rtol=1e-5, atol=1e-6)
    lowered = compile_and_compare(module, [spec("a", (m, k)), spec("w", (k, n))], [spec("out", (m, n))], [], inputs, threads=1)
    reduction_loops = [op for op in lowered.walk() if op.name == "device.for" and op.parent_op().name == "device.for"]
    assert len(reduction_loops) == (k // unroll > 1) + (k % unroll > 1)
    if not reduction_loops:
        # All copies in place at constant k: the init is emitted once, unguarded.
        assert not any(op.name == "device.if" for op in lowered.walk())
        inits = [op for op in lowered.walk() if op.name == "arith.constant" and isinstance(op.value, FloatAttr) and op.value.value.data == 0.5]
        assert len(inits) == 1


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    k=st.integers(1, 11),  # no steps: the init inside the reduction never runs, out is unwritten
    cols=st.integers(1, 40),
    unroll=st.integers(1, 5),
    vectorize_cols=st.booleans(),
    vectorize_k=st.booleans(),
)
def test_static_loops_lower_to_what_the_interpreter_computes(k, cols, unroll, vectorize_cols, vectorize_k):
    """out[i, j] = init + sum_r a[i, r] * b[r, j] + c[j] over static extents with the reduction
    unrolled or vectorized and the columns vectorized: whichever loops come out empty, of one
    trip (emitted in place) or longer, the lowered code computes what the loop IR does."""
    m = 2
    types = [BufferType.of([m, k], f32), BufferType.of([k, cols], f32), BufferType.of([cols], f32), BufferType.of([m, cols], f32)]

    def build(b, a, w, c, out):
        loops = matmul_nest(b, a, w, out, m, cols, k, lambda i, j: b.load(c, [j]))
        if unroll > 1:
            loops["r"].properties["unroll"] = IntegerAttr(unroll, 64)
        if vectorize_k:
            loops["r"].properties["vectorize"] = IntegerAttr(1, 1)
        if vectorize_cols:
            loops["j"].properties["vectorize"] = IntegerAttr(1, 1)

    module = loop_function(types, 1, build)
    rng = np.random.default_rng(k * 100 + cols)
    inputs = [rng.standard_normal(shape).astype(np.float32) for shape in ((m, k), (k, cols), (cols,))]
    np.testing.assert_allclose(run_loop(module, *inputs)[0], inputs[0] @ inputs[1] + inputs[2], rtol=1e-5, atol=1e-5)
    compile_and_compare(module, [spec("a", (m, k)), spec("w", (k, cols)), spec("c", (cols,))], [spec("out", (m, cols))], [], inputs, threads=1)


def test_matmul_reduction_with_intermediate_buffer_and_unroll():
    m, k, n = 5, 7, 9
    types = [BufferType.of([m, k], f32), BufferType.of([k, n], f32), BufferType.of([m, n], f32)]

    def build(b, a, w, out):
        tmp = b.alloc(BufferType.of([m, n], f32))
        reduction = matmul_nest(b, a, w, tmp, m, n, k, lambda i, j: b.constant(0.0, f32))["r"]
        with b.loop(b.index(0), b.index(m), kind="parallel") as i:
            with b.loop(b.index(0), b.index(n), kind="parallel") as j:
                init, body = b.block("relu", [i, j], "SS", [m, n])
                b.finish(init)
                with b.at(body):
                    v = b.load(tmp, [body.args[0], body.args[1]])
                    b.store(b.add(arith.MaximumfOp(v, b.constant(0.0, f32))).result, out, [body.args[0], body.args[1]])
                b.finish(body)
        reduction.properties["unroll"] = IntegerAttr(3, 64)

    module = loop_function(types, 1, build)
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)]
    expected = np.maximum(inputs[0] @ inputs[1], 0)
    np.testing.assert_allclose(run_loop(module, *inputs)[0], expected, rtol=1e-5, atol=1e-6)
    lowered = compile_and_compare(module, [spec("a", (m, k)), spec("w", (k, n))], [spec("out", (m, n))], [], inputs)
    assert any(op.name == "device.workspace_view" for op in lowered.walk())


def reshape_copy(rows, cols, depth, remainder_op):
    """out[i, j] = x[f floordiv depth, f rem depth] for f = i*cols + j: a reshape's copy, the
    column loop vectorized; the remainder as `f - q*depth` or `remui`."""
    total = rows * cols
    types = [BufferType.of([total // depth, depth], f32), BufferType.of([rows, cols], f32)]

    def build(b, x, out):
        with b.loop(b.index(0), b.index(rows), kind="parallel", label="i") as i:
            with b.loop(b.index(0), b.index(cols), kind="parallel", label="j") as j:
                init, body = b.block("reshape", [i, j], "SS", [rows, cols])
                b.finish(init)
                with b.at(body):
                    bi, bj = body.args
                    flat = b.add(arith.AddiOp(b.add(arith.MuliOp(bi, b.index(cols))).result, bj)).result
                    q = b.add(arith.FloorDivSIOp(flat, b.index(depth))).result
                    if remainder_op == "sub":
                        r = b.add(arith.SubiOp(flat, b.add(arith.MuliOp(q, b.index(depth))).result)).result
                    else:
                        r = b.add(arith.RemUIOp(flat, b.index(depth))).result
                    b.store(b.load(x, [q, r]), out, [bi, bj])
                b.finish(body)
        inner = next(op for op in b.insertion.walk() if op.name == "loop.for" and op.attr("label") == "j")
        inner.properties["vectorize"] = IntegerAttr(1, 1)

    return loop_function(types, 1, build), types


@pytest.mark.parametrize(
    "cols, depth, remainder_op, vectorized",
    [
        (4, 2, "sub", True),  # in lanes: every vector inside one row of x
        (4, 2, "remui", True),
        (2, 4, "sub", True),
        ("4+4", 2, "sub", False),  # rows of out start off the lanes: a vector may straddle x's rows
        (4, "2+4", "sub", False),  # x's rows are not whole vectors
    ],
)
def test_a_varying_index_divided_by_a_constant_vectorizes_when_no_vector_straddles(cols, depth, remainder_op, vectorized):
    lanes = host_target().vector_lanes(4)

    def size(term):
        k, _, extra = str(term).partition("+")
        return int(k) * lanes + int(extra or 0)

    cols, depth, rows = size(cols), size(depth), 3
    if rows * cols % depth:
        rows = depth
    module, types = reshape_copy(rows, cols, depth, remainder_op)
    x = np.random.default_rng(1).standard_normal(types[0].shape).astype(np.float32)
    lowered = compile_and_compare(module, [spec("x", types[0].shape)], [spec("out", types[1].shape)], [], [x])
    names = {op.name for op in lowered.walk()}
    assert ("device.vload" in names) == vectorized
