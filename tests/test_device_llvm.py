"""Device dialect through the llvm target: hand-built kernels (serial, vector, parallel, guarded,
stack buffers, symbolic sizes) compiled with the ABI wrappers and called through CompiledModel."""

import numpy as np
import pytest
from xdsl.dialects import arith, func, math
from xdsl.dialects.builtin import FloatAttr, IndexType, ModuleOp
from xdsl.ir import Block, Region

from lamina.dialects.device import Device
from lamina.ir.diagnostics import LaminaError
from lamina.ir.types import BufferType, f32, i1
from lamina.runtime.abi import ModuleSignature, TensorSpec
from lamina.targets.llvm_target import build_llvm_model

INDEX = IndexType()


class Body:
    """Appends ops to a block; `loop` yields the body builder of a new loop."""

    def __init__(self, block: Block):
        self.block = block

    def add(self, op):
        self.block.add_op(op)
        return op.results[0] if op.results else op

    def const(self, value, t=INDEX):
        return self.add(arith.ConstantOp.from_int_and_width(value, t) if t == INDEX else arith.ConstantOp(FloatAttr(value, t)))

    def loop(self, kind, lower, upper, step=1):
        body = Block(arg_types=[INDEX])
        self.add(Device[kind].build([lower, upper], {"step": step}, regions=[Region(body)]))
        return Body(body), body.args[0]


def entry_module(arg_types, build):
    block = Block(arg_types=arg_types)
    build(Body(block), *block.args)
    block.add_op(func.ReturnOp())
    fn = func.FuncOp("main", (arg_types, []), Region(block))
    return ModuleOp([fn])


def spec(name, shape):
    return TensorSpec(name, np.dtype(np.float32), tuple(shape))


def test_vectorized_parallel_kernel_with_symbolic_rows():
    from lamina.ir.dims import parse_dim

    n = parse_dim("n")
    types = [BufferType.of(["n", 16], f32), BufferType.of([16], f32), BufferType.of(["n", 16], f32)]

    def build(b, a, bias, out):
        rows = b.add(Device["symbol"].build([], {"symbol": "n"}))
        zero, sixteen = b.const(0), b.const(16)
        pb, i = b.loop("parallel_for", zero, rows)
        vb, j = pb.loop("for", zero, sixteen, 8)
        x = vb.add(Device["vload"].build([a, i, j], {"lanes": 8}))
        e = vb.add(math.ExpOp(x))
        y = vb.add(Device["vload"].build([bias, j], {"lanes": 8}))
        s = vb.add(arith.AddfOp(e, y))
        vb.add(Device["vstore"].build([s, out, i, j], {}))

    sig = ModuleSignature("m", (spec("a", (n, 16)), spec("bias", (16,))), (spec("out", (n, 16)),), ("n",))
    model = build_llvm_model(entry_module(types, build), sig, threads=2)
    rng = np.random.default_rng(0)
    for rows in (1, 7, 64):
        a = rng.standard_normal((rows, 16)).astype(np.float32)
        bias = rng.standard_normal(16).astype(np.float32)
        (out,) = model(a, bias)
        np.testing.assert_allclose(out, np.exp(a) + bias, rtol=1e-5, atol=1e-6)
    with pytest.raises(LaminaError, match="axis 1 must be 16"):
        model(np.zeros((3, 5), np.float32), bias)


def test_reduction_with_stack_buffer_guard_and_fma():
    types = [BufferType.of([10, 8], f32), BufferType.of([10], f32)]

    def build(b, a, out):
        zero, ten, eight = b.const(0), b.const(10), b.const(8)
        acc = b.add(Device["alloca"].build([], {"shape": [1], "element": f32}))
        rb, i = b.loop("for", zero, ten)
        rb.add(Device["store"].build([rb.const(0.0, f32), acc, zero], {}))
        kb, k = rb.loop("for", zero, eight, 8)
        v = kb.add(Device["vload"].build([a, i, k], {"lanes": 8}))
        sq = kb.add(Device["fma"].build([v, v, kb.add(Device["broadcast"].build([kb.const(0.0, f32)], {"lanes": 8}))], {}))
        total = kb.add(Device["vreduce"].build([sq], {"kind": "add"}))
        kb.add(Device["store"].build([total, acc, zero], {}))
        # Only even rows are written from the accumulator; odd rows get -1 (a guarded store).
        two = rb.const(2)
        rem = rb.add(arith.RemSIOp(i, two))
        is_even = rb.add(arith.CmpiOp(rem, zero, "eq"))
        then = Block()
        rb.add(Device["if"].build([is_even], {}, regions=[Region(then)]))
        tb = Body(then)
        tb.add(Device["store"].build([tb.add(Device["load"].build([acc, zero], {})), out, i], {}))
        odd = Block()
        is_odd = rb.add(arith.XOrIOp(is_even, rb.add(arith.ConstantOp.from_int_and_width(1, i1))))
        rb.add(Device["if"].build([is_odd], {}, regions=[Region(odd)]))
        ob = Body(odd)
        ob.add(Device["store"].build([ob.const(-1.0, f32), out, i], {}))

    sig = ModuleSignature("m", (spec("a", (10, 8)),), (spec("out", (10,)),), ())
    model = build_llvm_model(entry_module(types, build), sig, threads=1)
    a = np.random.default_rng(1).standard_normal((10, 8)).astype(np.float32)
    (out,) = model(a)
    expect = np.where(np.arange(10) % 2 == 0, (a * a).sum(1), -1.0)
    np.testing.assert_allclose(out, expect, rtol=1e-5)


def test_nests_differing_only_in_an_outer_constant_are_distinct_kernels():
    """Two top-level nests of the same shape whose inner loops run to different constants
    defined outside them (as hoisted bounds are) must not share one compiled function."""
    types = [BufferType.of([2], f32), BufferType.of([2], f32)]

    def build(b, first, second):
        zero, two, three, five = b.const(0), b.const(2), b.const(3), b.const(5)
        for out, bound in ((first, three), (second, five)):
            rb, i = b.loop("for", zero, two)
            rb.add(Device["store"].build([rb.const(0.0, f32), out, i], {}))
            kb, _ = rb.loop("for", zero, bound)
            count = kb.add(arith.AddfOp(kb.add(Device["load"].build([out, i], {})), kb.const(1.0, f32)))
            kb.add(Device["store"].build([count, out, i], {}))

    sig = ModuleSignature("m", (), (spec("first", (2,)), spec("second", (2,))), ())
    first, second = build_llvm_model(entry_module(types, build), sig, threads=1)()
    np.testing.assert_array_equal(first, [3.0, 3.0])
    np.testing.assert_array_equal(second, [5.0, 5.0])
