"""Device dialect → LLVM IR (through llvmlite.ir), one op at a time.

Every device function becomes an LLVM function whose buffers are `noalias` pointers and whose
last parameter is the symbol table (`i64*`, values of the symbolic dims in module order).
`device.parallel_for` bodies are outlined into functions run by libgomp's `GOMP_parallel`, each
thread claiming chunks of consecutive iterations until none is left. The ABI wrappers (`lamina_run`, ...) come from
`lamina.targets.abi_wrappers`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import llvmlite.ir as ir
import numpy as np
from xdsl.dialects import arith, func, math
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    VectorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina.ir.diagnostics import LaminaError, error_at
from lamina.ir.free_values import free_values
from lamina.ir.dims import Dim, SymDim
from lamina.ir.types import BufferType, f16, f32, f64, numpy_dtype, u8

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
VOID = ir.VoidType()
I8P = I8.as_pointer()
FAST = ("contract",)  # fused multiply-add contraction only: keeps IEEE results otherwise
# Up to this many top-level nests, LLVM may inline each into the model's function (measured: a
# depthwise conv ran 2x slower as a call). Beyond, every kernel landing in one function made
# LLVM's superlinear passes the bulk of compiling (ResNet-18 with Winograd convs, ~80 nests:
# 27 s to compile, 21 s with its nests apart).
INLINED_KERNELS = 32
# Chunks of a parallel loop per thread: enough to even out a core that runs slower (shared
# machines), few enough that neighbouring iterations mostly run on one core.
CLAIMS_PER_THREAD = 4


def llvm_type(t: Attribute) -> ir.Type:
    if isinstance(t, IndexType):
        return I64
    if isinstance(t, IntegerType):
        return ir.IntType(t.width.data)
    if t == f32:
        return ir.FloatType()
    if t == f64:
        return ir.DoubleType()
    if t == f16:
        return ir.HalfType()
    if isinstance(t, VectorType):
        (lanes,) = t.get_shape()
        return ir.VectorType(llvm_type(t.element_type), lanes)
    if isinstance(t, BufferType):
        return llvm_type(t.element_type).as_pointer()
    raise TypeError(f"no LLVM type for {t}")


def is_float_type(t: ir.Type) -> bool:
    if isinstance(t, ir.VectorType):
        t = t.element
    return isinstance(t, (ir.FloatType, ir.DoubleType, ir.HalfType))


def _intrinsic_suffix(t: ir.Type) -> str:
    if isinstance(t, ir.VectorType):
        return f"v{t.count}{_intrinsic_suffix(t.element)}"
    return {ir.FloatType: "f32", ir.DoubleType: "f64", ir.HalfType: "f16"}.get(type(t)) or f"i{t.width}"


@dataclass
class FunctionState:
    fn: ir.Function
    builder: ir.IRBuilder
    entry: ir.Block
    symbols_ptr: ir.Value
    values: dict[SSAValue, ir.Value] = field(default_factory=dict)
    dims: dict[tuple, ir.Value] = field(default_factory=dict)
    pointers: dict[tuple, ir.Value] = field(default_factory=dict)


class LLVMEmitter:
    def __init__(self, module: ModuleOp, symbols: tuple[str, ...], name: str = "lamina", constant_prefix: str | None = None):
        self.source = module
        self.symbols = symbols
        self.module = ir.Module(name=name)
        self.functions: dict[str, ir.Function] = {}
        self.outlined = 0
        self.inline_kernels = True
        # Outlined functions by their text less their name: kernels that repeat in a model
        # (ResNet's identical convs of a stage) are compiled once and called from every place.
        self.kernels: dict[str, ir.Function] = {}
        # The same by the structure of the device ops (structure_key), so a repeated nest is
        # not even emitted: top-level loops -> function, parallel loops -> (body, trampoline).
        self.nests: dict[tuple, object] = {}
        self.printed: dict[str, str] = {}
        self.constants = 0
        # With a prefix, constant buffers are external declarations named `<prefix><n>` whose
        # arrays (`constant_arrays`) the caller binds to the symbols: LLVM then never parses or
        # copies the weights (tens of megabytes as IR text; `constant_definitions` writes them).
        self.constant_prefix = constant_prefix
        self.constant_arrays: list[tuple[str, np.ndarray]] = []

    # ------------------------------------------------------------ module level

    def emit(self) -> ir.Module:
        funcs = [op for op in self.source.ops if isinstance(op, func.FuncOp)]
        kernels = sum(1 for f in funcs for op in f.body.block.ops if op.name in ("device.for", "device.parallel_for"))
        # LAMINA_PROFILE_KERNELS=1 keeps every nest apart, so perf reports time per kernel.
        self.inline_kernels = kernels <= INLINED_KERNELS and not os.environ.get("LAMINA_PROFILE_KERNELS")
        for f in funcs:
            self.declare(f)
        for f in funcs:
            self.define(f)
        return self.module

    def declare(self, f: func.FuncOp) -> None:
        params = [llvm_type(t) for t in f.function_type.inputs.data] + [I64.as_pointer()]
        fn = ir.Function(self.module, ir.FunctionType(VOID, params), name=f.sym_name.data)
        for arg, t in zip(fn.args, f.function_type.inputs.data):
            if isinstance(t, BufferType):
                arg.add_attribute("noalias")
        fn.args[-1].add_attribute("noalias")
        # Only the ABI wrappers are exported; a model function named `main` must not clash with
        # the program that links the library.
        fn.linkage = "internal"
        self.functions[f.sym_name.data] = fn

    def define(self, f: func.FuncOp) -> None:
        fn = self.functions[f.sym_name.data]
        state = self.new_state(fn, fn.args[-1])
        for barg, arg in zip(f.body.block.args, fn.args):
            state.values[barg] = arg
        self.emit_block(f.body.block, state)
        if not state.builder.block.is_terminated:
            state.builder.ret_void()

    def new_state(self, fn: ir.Function, symbols_ptr: ir.Value) -> FunctionState:
        entry = fn.append_basic_block("entry")
        body = fn.append_basic_block("body")
        ir.IRBuilder(entry).branch(body)
        return FunctionState(fn, ir.IRBuilder(body), entry, symbols_ptr)

    # ------------------------------------------------------------ ops

    def emit_block(self, block: Block, st: FunctionState) -> None:
        for op in block.ops:
            self.emit_op(op, st)

    def emit_op(self, op: Operation, st: FunctionState) -> None:
        name = op.name
        handler = getattr(self, "op_" + name.replace(".", "_"), None)
        if handler is None:
            if name.startswith("arith.") or name.startswith("math."):
                handler = self.op_scalar
            else:
                raise error_at(op, f"the llvm target cannot emit '{name}'")
        handler(op, st)

    def v(self, st: FunctionState, value: SSAValue) -> ir.Value:
        return st.values[value]

    def op_func_return(self, op, st):
        st.builder.ret_void()

    def op_device_symbol(self, op, st):
        st.values[op.results[0]] = self.symbol_value(st, op.attr("symbol"))

    def symbol_value(self, st: FunctionState, name: str) -> ir.Value:
        key = ("sym", name)
        if key not in st.dims:
            if name not in self.symbols:
                raise KeyError(name)
            b = ir.IRBuilder(st.entry)
            b.position_before(st.entry.terminator)
            st.dims[key] = b.load(b.gep(st.symbols_ptr, [ir.Constant(I64, self.symbols.index(name))]), name=name)
        return st.dims[key]

    def dim_value(self, st: FunctionState, d: Dim) -> ir.Value:
        if isinstance(d, int):
            return ir.Constant(I64, d)
        key = ("dim", str(d))
        if key not in st.dims:
            for mono, _ in d.terms:
                for s in mono:
                    self.symbol_value(st, s)
            # llvmlite anchors an insertion point by instruction index: position only after the
            # symbol loads above are in place.
            b = ir.IRBuilder(st.entry)
            b.position_before(st.entry.terminator)
            total = None
            for mono, coef in d.terms:
                term = ir.Constant(I64, coef)
                for s in mono:
                    term = b.mul(term, self.symbol_value(st, s))
                total = term if total is None else b.add(total, term)
            st.dims[key] = total if total is not None else ir.Constant(I64, 0)
        return st.dims[key]

    def element_pointer(self, st: FunctionState, buf: SSAValue, indices) -> ir.Value:
        """The element's address; one per (buffer, indices) in a basic block, the update of an
        accumulator loading and storing the same one. Constant parts of the offset fold here
        rather than in LLVM (unrolled tiles index their rows and vectors by constants)."""
        b = st.builder
        base, index_values = self.v(st, buf), [self.v(st, idx) for idx in indices]
        key = (b.block, base, *index_values)
        if key in st.pointers:
            return st.pointers[key]
        t: BufferType = buf.type
        linear = None
        for d, i in zip(t.shape, index_values):
            linear = i if linear is None else _add(b, _mul(b, linear, self.dim_value(st, d)), i)
        if linear is None:
            linear = ir.Constant(I64, 0)
        st.pointers[key] = pointer = b.gep(base, [linear], inbounds=True)
        return pointer

    def op_device_load(self, op, st):
        ptr = self.element_pointer(st, op.operands[0], op.operands[1:])
        st.values[op.results[0]] = st.builder.load(ptr, align=self.align(op.operands[0].type))

    def op_device_store(self, op, st):
        ptr = self.element_pointer(st, op.operands[1], op.operands[2:])
        st.builder.store(self.v(st, op.operands[0]), ptr, align=self.align(op.operands[1].type))

    def op_device_prefetch(self, op, st):
        b = st.builder
        pointer = b.bitcast(b.gep(self.v(st, op.operands[0]), [self.v(st, op.operands[1])]), I8P)
        name = "llvm.prefetch.p0"
        fn = self.module.globals.get(name) or ir.Function(self.module, ir.FunctionType(VOID, [I8P, I32, I32, I32]), name)
        # read, locality 2 (x86: prefetcht1, into L2), data cache
        b.call(fn, [pointer, ir.Constant(I32, 0), ir.Constant(I32, 2), ir.Constant(I32, 1)])

    def op_device_vload(self, op, st):
        ptr = self.element_pointer(st, op.operands[0], op.operands[1:])
        vt = llvm_type(op.results[0].type)
        b = st.builder
        align = self.align(op.operands[0].type)
        stride = op.attr("stride")
        if stride == 1:
            st.values[op.results[0]] = b.load(b.bitcast(ptr, vt.as_pointer()), align=align)
            return
        if stride != 2:
            raise error_at(op, f"the llvm target loads vectors with stride 1 or 2, not {stride}")
        # Lanes 0, 2, ..., 2(n-1): two n-wide loads, the second shifted back by one so neither
        # reads past the last element used, then one shuffle picks the even positions.
        lanes = vt.count
        first = b.load(b.bitcast(ptr, vt.as_pointer()), align=align)
        second_ptr = b.gep(ptr, [ir.Constant(I64, lanes - 1)])
        second = b.load(b.bitcast(second_ptr, vt.as_pointer()), align=align)
        picks = [2 * l if 2 * l < lanes else lanes + 2 * l - (lanes - 1) for l in range(lanes)]
        st.values[op.results[0]] = b.shuffle_vector(first, second, ir.Constant(ir.VectorType(I32, lanes), picks))

    def op_device_vstore(self, op, st):
        ptr = self.element_pointer(st, op.operands[1], op.operands[2:])
        value = self.v(st, op.operands[0])
        vptr = st.builder.bitcast(ptr, value.type.as_pointer())
        st.builder.store(value, vptr, align=self.align(op.operands[1].type))

    def align(self, t: BufferType) -> int:
        return numpy_dtype(t.element_type).itemsize

    def op_device_alloca(self, op, st):
        t: BufferType = op.results[0].type
        n = int(np.prod(t.shape)) if t.shape else 1
        b = ir.IRBuilder(st.entry)
        b.position_before(st.entry.terminator)
        slot = b.alloca(llvm_type(t.element_type), size=ir.Constant(I64, n))
        slot.align = 64
        st.values[op.results[0]] = slot

    def op_device_workspace_view(self, op, st):
        ws, offset = (self.v(st, o) for o in op.operands)
        raw = st.builder.bitcast(ws, I8P)
        ptr = st.builder.gep(raw, [offset])
        st.values[op.results[0]] = st.builder.bitcast(ptr, llvm_type(op.results[0].type))

    def op_device_const_buffer(self, op, st):
        array = np.ascontiguousarray(op.attr("value"))
        ty = ir.ArrayType(I8, array.nbytes)
        name = f"{self.constant_prefix or 'lamina_const_'}{self.constants}"
        g = ir.GlobalVariable(self.module, ty, name=name)
        self.constants += 1
        g.global_constant = True
        g.align = CONSTANT_ALIGNMENT
        if self.constant_prefix is None:
            g.linkage = "internal"
            g.initializer = ir.FormattedConstant(ty, f'c"{escaped_bytes(array)}"')
        else:
            self.constant_arrays.append((name, array))
        st.values[op.results[0]] = st.builder.bitcast(g, llvm_type(op.results[0].type))

    def op_device_broadcast(self, op, st):
        vt = llvm_type(op.results[0].type)
        b = st.builder
        one = b.insert_element(ir.Constant(vt, ir.Undefined), self.v(st, op.operands[0]), ir.Constant(I32, 0))
        mask = ir.Constant(ir.VectorType(I32, vt.count), [0] * vt.count)
        st.values[op.results[0]] = b.shuffle_vector(one, ir.Constant(vt, ir.Undefined), mask)

    def op_device_fma(self, op, st):
        a, b_, c = (self.v(st, o) for o in op.operands)
        if is_float_type(a.type):
            fn = self.intrinsic("llvm.fma", a.type, 3)
            st.values[op.results[0]] = st.builder.call(fn, [a, b_, c])
        else:
            st.values[op.results[0]] = st.builder.add(st.builder.mul(a, b_), c)

    def op_device_vreduce(self, op, st):
        vec = self.v(st, op.operands[0])
        kind = op.attr("kind")
        b = st.builder
        flt = is_float_type(vec.type)
        # A shuffle tree: log2(lanes) steps, then lane 0.
        count = vec.type.count
        acc = vec
        while count > 1:
            half = count // 2
            mask = ir.Constant(ir.VectorType(I32, vec.type.count), [i + half if i < half else i for i in range(vec.type.count)])
            hi = b.shuffle_vector(acc, ir.Constant(acc.type, ir.Undefined), mask)
            acc = self.combine(b, kind, acc, hi, flt)
            count = half
        st.values[op.results[0]] = b.extract_element(acc, ir.Constant(I32, 0))

    def combine(self, b: ir.IRBuilder, kind: str, x, y, flt: bool):
        if kind == "add":
            return b.fadd(x, y) if flt else b.add(x, y)
        if kind == "mul":
            return b.fmul(x, y) if flt else b.mul(x, y)
        if flt:
            return b.call(self.intrinsic("llvm.maximum" if kind == "max" else "llvm.minimum", x.type, 2), [x, y])
        pred = ">" if kind == "max" else "<"
        return b.select(b.icmp_signed(pred, x, y), x, y)

    def intrinsic(self, name: str, t: ir.Type, arity: int, ret: ir.Type | None = None) -> ir.Function:
        full = f"{name}.{_intrinsic_suffix(t)}"
        fn = self.module.globals.get(full)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret or t, [t] * arity), name=full)
        return fn

    def libm(self, name: str, t: ir.Type, arity: int) -> ir.Function:
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(t, [t] * arity), name=name)
        return fn

    # ------------------------------------------------------------ control flow

    def op_device_for(self, op, st):
        lower, upper = (self.v(st, o) for o in op.operands)
        if isinstance(op.parent_op(), func.FuncOp):
            # A top-level nest (one op's kernel) gets a function of its own whose buffers are
            # noalias parameters: in the entry, buffers are views of one workspace, and LLVM
            # could not tell them apart (the memory plan never overlaps buffers one nest uses).
            key = structure_key(op)
            known = self.nests.get(key) if key is not None else None
            if known is None:
                body_fn, captured = self.outline(op, st, f"{st.fn.name}.nest{self.outlined}")
                self.outlined += 1
                body_fn = self.unique(body_fn)
                if key is not None:
                    self.nests[key] = body_fn
            else:
                body_fn, captured = known, passed_values(op)
            st.builder.call(body_fn, [self.v(st, c) for c in captured] + [lower, upper, st.symbols_ptr])
            return
        self.emit_loop(st, lower, upper, op.attr("step"), op.regions[0].block)

    def unique(self, fn: ir.Function) -> ir.Function:
        """fn, or the function emitted before that has the same text but for the name (fn is
        then dropped from the module). Buffers and weights are parameters, so two nests of the
        same shapes and schedule emit the same text."""
        printed = str(fn)
        text = printed.replace(f'"{fn.name}"', "@", 1).replace(f"@{fn.name}(", "@(", 1)
        earlier = self.kernels.get(text)
        if earlier is None:
            self.kernels[text] = fn
            self.printed[fn.name] = printed
            return fn
        del self.module.globals[fn.name]
        return earlier

    def module_text(self) -> str:
        """The module as LLVM IR text, as str(module) prints it, reusing the text of the
        functions `unique` printed already (printing is a third of emitting a large model)."""
        m = self.module
        lines = ['; ModuleID = "%s"' % (m.name,), 'target triple = "%s"' % (m.triple,), 'target datalayout = "%s"' % (m.data_layout,), ""]
        lines += [t.get_declaration() for t in m.get_identified_types().values()]
        lines += [self.printed.get(name) or str(v) for name, v in m.globals.items()]
        lines += m._get_metadata_lines()
        return "\n".join(lines)

    def outline(self, op: Operation, st: FunctionState, name: str, per_iteration: bool = False) -> tuple[ir.Function, list[SSAValue]]:
        """op's loop as `void name(captured..., i64 first, i64 last, i64* symbols)`, or with
        `per_iteration` its body as `void name(captured..., i64 i, i64* symbols)`; returns it
        and the captured values its callers pass."""
        free = free_values(op, own_operands=False)
        # Constants are re-created in the body: as parameters, loop bounds would stop being
        # known and LLVM could no longer unroll or fold the loops they bound.
        constants = [c for c in free if isinstance(c.owner, arith.ConstantOp)]
        captured = [c for c in free if c not in constants]
        types = [self.v(st, c).type for c in captured]
        body = op.regions[0].block
        bounds = tuple(o.owner.value.value.data if isinstance(o.owner, arith.ConstantOp) else None for o in op.operands[:2])
        return self.outlined_body(name, captured, types, constants, body, op.attr("step"), per_iteration, bounds), captured

    def assume_in_range(self, b: ir.IRBuilder, iv: ir.Value, bounds: tuple[int | None, int | None]) -> None:
        """Tell LLVM the iteration's range: without `iv >= 0` it cannot prove the addresses of
        a register tile's accumulators apart and keeps them in memory."""
        lower, upper = bounds
        assume = self.module.globals.get("llvm.assume") or ir.Function(self.module, ir.FunctionType(VOID, [I1]), name="llvm.assume")
        if lower is not None:
            b.call(assume, [b.icmp_signed(">=", iv, ir.Constant(I64, lower))])
        if upper is not None:
            b.call(assume, [b.icmp_signed("<", iv, ir.Constant(I64, upper))])

    def emit_loop(self, st: FunctionState, lower, upper, step: int, body: Block) -> None:
        def emit_body(iv: ir.Value) -> None:
            st.values[body.args[0]] = iv
            self.emit_block(body, st)

        counted_loop(st.builder, lower, upper, step, emit_body)

    def op_device_if(self, op, st):
        b = st.builder
        with b.if_then(self.v(st, op.operands[0])):
            self.emit_block(op.regions[0].block, st)

    def op_device_call(self, op, st):
        callee = self.functions[op.attr("callee")]
        st.builder.call(callee, [self.v(st, o) for o in op.operands] + [st.symbols_ptr])

    def op_device_parallel_for(self, op, st):
        """Outline one iteration into `void body(captured..., i64 i, i64* symbols)` with `noalias`
        buffers, and run it through `void trampoline(i8* ctx)` under GOMP_parallel; each thread
        claims chunks of [lower, upper) from a counter in the context. Passing buffers as
        parameters (not loads from the context struct) keeps `noalias`, without which LLVM keeps
        accumulators in memory and does not hoist loads out of the loops."""
        key = structure_key(op)
        known = self.nests.get(key) if key is not None else None
        if known is None:
            name = f"{st.fn.name}.parallel{self.outlined}"
            self.outlined += 1
            body_fn, captured = self.outline(op, st, name, per_iteration=True)
            body_fn = self.unique(body_fn)
        else:
            (body_fn, trampoline), captured = known, passed_values(op)
        ctx_types = [self.v(st, c).type for c in captured] + [I64, I64, I64.as_pointer(), I64]
        ctx_ty = ir.LiteralStructType(ctx_types)
        b = st.builder
        eb = ir.IRBuilder(st.entry)
        eb.position_before(st.entry.terminator)
        ctx = eb.alloca(ctx_ty)
        # The last field counts the iterations the threads have claimed.
        fields = [self.v(st, c) for c in captured] + [self.v(st, op.operands[0]), self.v(st, op.operands[1]), st.symbols_ptr, ir.Constant(I64, 0)]
        for i, val in enumerate(fields):
            b.store(val, b.gep(ctx, [ir.Constant(I32, 0), ir.Constant(I32, i)]))
        if known is None:
            trampoline = self.unique(self.trampoline(name, ctx_ty, body_fn, op.attr("step")))
            if key is not None:
                self.nests[key] = (body_fn, trampoline)
        gomp = self.module.globals.get("GOMP_parallel") or ir.Function(
            self.module, ir.FunctionType(VOID, [ir.FunctionType(VOID, [I8P]).as_pointer(), I8P, I32, I32]), name="GOMP_parallel"
        )
        b.call(gomp, [trampoline, b.bitcast(ctx, I8P), ir.Constant(I32, 0), ir.Constant(I32, 0)])

    def trampoline(self, name: str, ctx_ty: ir.LiteralStructType, body_fn: ir.Function, step: int) -> ir.Function:
        """`void name(i8* ctx)`, run by every thread of GOMP_parallel: claims chunks of the
        iterations the context holds and runs body_fn on each."""
        ctx_types = ctx_ty.elements
        trampoline = ir.Function(self.module, ir.FunctionType(VOID, [I8P]), name=name)
        trampoline.linkage = "internal"
        tb = ir.IRBuilder(trampoline.append_basic_block("entry"))
        cptr = tb.bitcast(trampoline.args[0], ctx_ty.as_pointer())
        loaded = [tb.load(tb.gep(cptr, [ir.Constant(I32, 0), ir.Constant(I32, i)])) for i in range(len(ctx_types) - 1)]
        claimed = tb.gep(cptr, [ir.Constant(I32, 0), ir.Constant(I32, len(ctx_types) - 1)])
        lower, upper, symbols = loaded[-3], loaded[-2], loaded[-1]
        trips = tb.sdiv(tb.add(tb.sub(upper, lower), ir.Constant(I64, step - 1)), ir.Constant(I64, step))
        # Each thread claims the next chunk of iterations until none is left (dynamic
        # scheduling): on a machine whose cores are shared, a static half per thread waits for
        # the slower one. Chunks of consecutive iterations, about CLAIMS_PER_THREAD per thread:
        # claimed one at a time, neighbouring iterations ran on different cores, and outputs
        # sharing a cache line across them (the rows of a depthwise conv) bounced between the
        # cores; that made such a nest slower on two threads than on one.
        omp_threads = self.module.globals.get("omp_get_num_threads") or ir.Function(self.module, ir.FunctionType(I32, []), name="omp_get_num_threads")
        threads = tb.sext(tb.call(omp_threads, []), I64)
        chunk = tb.sdiv(trips, tb.mul(threads, ir.Constant(I64, CLAIMS_PER_THREAD)))
        chunk = tb.select(tb.icmp_signed("<", chunk, ir.Constant(I64, 1)), ir.Constant(I64, 1), chunk)
        header = tb.append_basic_block("claim")
        run = tb.append_basic_block("run")
        done = tb.append_basic_block("done")
        tb.branch(header)
        tb.position_at_end(header)
        first = tb.atomic_rmw("add", claimed, chunk, "monotonic")
        tb.cbranch(tb.icmp_signed("<", first, trips), run, done)
        tb.position_at_end(run)
        end = tb.add(first, chunk)
        end = tb.select(tb.icmp_signed("<", end, trips), end, trips)

        def run_iteration(k):
            tb.call(body_fn, loaded[:-3] + [tb.add(lower, tb.mul(k, ir.Constant(I64, step))), symbols])

        counted_loop(tb, first, end, 1, run_iteration)
        tb.branch(header)
        tb.position_at_end(done)
        tb.ret_void()
        return trampoline

    def outlined_body(
        self,
        name: str,
        captured: list[SSAValue],
        types: list[ir.Type],
        constants: list[SSAValue],
        body: Block,
        step: int,
        per_iteration: bool = False,
        range_of: tuple[int | None, int | None] = (None, None),
    ) -> ir.Function:
        bounds = [I64] if per_iteration else [I64, I64]
        fn = ir.Function(self.module, ir.FunctionType(VOID, types + bounds + [I64.as_pointer()]), name=name + ".body")
        fn.linkage = "internal"
        # One iteration of a parallel loop stays a function of its own: inlined into the
        # thread's chunk loop, whose bounds are known only at run time, LLVM no longer keeps a
        # register tile's accumulators in registers. A whole nest does too in a large model (see
        # INLINED_KERNELS).
        if per_iteration or not self.inline_kernels:
            fn.attributes.add("noinline")
        for arg, c in zip(fn.args, captured):
            # The raw workspace (bytes) is not marked: views into it may be captured beside it.
            if isinstance(c.type, BufferType) and c.type.element_type != u8:
                arg.add_attribute("noalias")
        fn.args[-1].add_attribute("noalias")
        inner = self.new_state(fn, fn.args[-1])
        for c, arg in zip(captured, fn.args):
            inner.values[c] = arg
        for c in constants:
            inner.values[c] = constant_value(c.owner)
        if per_iteration:
            iv = fn.args[-2]
            inner.values[body.args[0]] = iv
            self.assume_in_range(inner.builder, iv, range_of)
            self.emit_block(body, inner)
        else:
            # Static bounds stay constants in the body, so LLVM still knows the trip count.
            lower, upper = (fn.args[k] if bound is None else ir.Constant(I64, bound) for k, bound in ((-3, range_of[0]), (-2, range_of[1])))
            self.emit_loop(inner, lower, upper, step, body)
        inner.builder.ret_void()
        return fn

    # ------------------------------------------------------------ arith / math

    def op_scalar(self, op: Operation, st: FunctionState) -> None:
        from lamina.targets.llvm_scalar import emit_scalar

        st.values[op.results[0]] = emit_scalar(self, op, [self.v(st, o) for o in op.operands], st.builder)


def _constant_int(x: ir.Value) -> int | None:
    return x.constant if isinstance(x, ir.Constant) and isinstance(x.constant, int) else None


def _mul(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    cx, cy = _constant_int(x), _constant_int(y)
    if cx is not None and cy is not None:
        return ir.Constant(I64, cx * cy)
    if cx == 1 or cy == 1:
        return y if cx == 1 else x
    if cx == 0 or cy == 0:
        return ir.Constant(I64, 0)
    return b.mul(x, y, flags=("nsw",))


def _add(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    cx, cy = _constant_int(x), _constant_int(y)
    if cx is not None and cy is not None:
        return ir.Constant(I64, cx + cy)
    if cx == 0 or cy == 0:
        return y if cx == 0 else x
    return b.add(x, y, flags=("nsw",))


def passed_values(op: Operation) -> list[SSAValue]:
    """What an outlined loop takes as parameters: the values it uses from outside, in first-use
    order, less constants (recreated in the body)."""
    return [c for c in free_values(op, own_operands=False) if not isinstance(c.owner, arith.ConstantOp)]


def structure_key(op: Operation) -> tuple | None:
    """A value equal for two loops exactly when they emit the same function: every nested op's
    name, operands (numbered by first appearance, constants by value, with their types), result types, properties
    and attributes, the block arguments, and the loop's kind and static bounds. None when an
    attribute cannot be hashed."""
    numbering: dict[SSAValue, int] = {}

    def ref(value: SSAValue) -> int | tuple:
        # A constant is recreated in the outlined body, not passed: its value is part of the
        # function (an inner loop's bound hoisted out of the nest, say).
        if isinstance(value.owner, arith.ConstantOp):
            return ("constant", value.owner.value)
        n = numbering.get(value)
        if n is None:
            n = numbering[value] = len(numbering)
        return n

    bounds = tuple(o.owner.value.value.data if isinstance(o.owner, arith.ConstantOp) else None for o in op.operands[:2])
    parts: list = [op.name, bounds]
    for inner in op.walk():
        if inner is not op:
            parts.append((inner.name, tuple(ref(o) for o in inner.operands), tuple(o.type for o in inner.operands)))
        parts.append((tuple(r.type for r in inner.results), tuple(sorted(inner.properties.items())), tuple(sorted(inner.attributes.items()))))
        for r in inner.results:
            ref(r)
        for region in inner.regions:
            for block in region.blocks:
                parts.append(tuple(a.type for a in block.args))
                for a in block.args:
                    ref(a)
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def counted_loop(b: ir.IRBuilder, lower: ir.Value, upper: ir.Value, step: int, emit_body) -> None:
    """for (i = lower; i < upper; i += step) emit_body(i), at b's position; b ends after it."""
    pre = b.block
    header = b.append_basic_block("loop.header")
    inner = b.append_basic_block("loop.body")
    exit_ = b.append_basic_block("loop.exit")
    b.branch(header)
    b.position_at_end(header)
    iv = b.phi(I64, name="i")
    iv.add_incoming(lower, pre)
    b.cbranch(b.icmp_signed("<", iv, upper), inner, exit_)
    b.position_at_end(inner)
    emit_body(iv)
    iv.add_incoming(b.add(iv, ir.Constant(I64, step), flags=("nsw",)), b.block)
    b.branch(header)
    b.position_at_end(exit_)


HEX_DIGITS = np.frombuffer(b"0123456789ABCDEF", np.uint8)
# Constant buffers are declared this aligned, so LLVM may use aligned vector loads on them.
CONSTANT_ALIGNMENT = 64


def constant_definitions(ir_text: str, arrays: list[tuple[str, np.ndarray]]) -> str:
    """`ir_text` with the external constant declarations of `arrays` replaced by definitions
    holding their bytes (what a shared library carries)."""
    definitions = {}
    for name, array in arrays:
        ty = f"[{array.nbytes} x i8]"
        declaration = f'@"{name}" = external constant {ty}, align {CONSTANT_ALIGNMENT}'
        definitions[declaration] = f'@"{name}" = internal constant {ty} c"{escaped_bytes(array)}", align {CONSTANT_ALIGNMENT}'
    lines = ir_text.split("\n")
    for k, line in enumerate(lines):
        if line in definitions:
            lines[k] = definitions.pop(line)
    if definitions:
        raise LaminaError(f"internal error: the LLVM IR does not declare {next(iter(definitions))}")
    return "\n".join(lines)


def escaped_bytes(array: np.ndarray) -> str:
    """The bytes of array as the body of an LLVM `c"..."` string, every byte `\\XX`: built
    by numpy, since a model's weights are tens of megabytes (llvmlite escapes byte by byte)."""
    raw = np.frombuffer(array.tobytes(), np.uint8)
    out = np.empty((raw.size, 3), np.uint8)
    out[:, 0] = ord("\\")
    out[:, 1] = HEX_DIGITS[raw >> 4]
    out[:, 2] = HEX_DIGITS[raw & 15]
    return out.tobytes().decode("ascii")


def constant_value(op: arith.ConstantOp) -> ir.Constant:
    t = llvm_type(op.result.type)
    value = op.value
    if isinstance(value, (IntegerAttr, FloatAttr)):
        scalar = value.value.data
        if isinstance(t, ir.VectorType):
            return ir.Constant(t, [scalar] * t.count)
        return ir.Constant(t, scalar)
    if isinstance(value, DenseIntOrFPElementsAttr):
        vals = value.get_values()
        return ir.Constant(t, list(vals) if isinstance(t, ir.VectorType) else vals[0])
    raise TypeError(f"constant {value}")


def emit_llvm_ir(module: ModuleOp, symbols: tuple[str, ...]) -> ir.Module:
    return LLVMEmitter(module, symbols).emit()


__all__ = ["LLVMEmitter", "emit_llvm_ir", "llvm_type", "constant_value", "math", "SymDim"]
