"""The loop-level interpreter: runs a loop function (func.func over memrefs, destination-passing)
on numpy arrays. It is the reference every schedule primitive and code generator is tested
against, so it is built to be fast enough for property tests:

- The function is compiled once into a tree of Python closures over numbered value slots.
- Every `parallel` loop runs all its iterations at once as a numpy lane axis (its iterations
  are independent by the loop kind's contract, so running each op for all lanes before the
  next op gives the same result as any sequential order). Loads and stores become fancy
  indexing over the lanes; serial and reduction loops iterate in Python.
- Lanes that must not run (a loop whose bounds vary across lanes, a `loop.if` whose condition
  does, a block's init region) are masked: masked stores are dropped and masked loads read a
  valid element instead of faulting. An out-of-bounds access in a live lane is a located error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr, IntegerType, ModuleOp
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects import graph_reference as ref
from lamina.dialects.loop import OUTPUTS_ATTR, REDUCE
from lamina.interpreter.graph import find_function
from lamina.ir.diagnostics import LaminaError, error_at
from lamina.ir.dims import SymDim, evaluate_dim, parse_dim
from lamina.ir.types import BufferType, numpy_dtype
from lamina.passes.schedule.nest import enclosing_loops

Env = list
Mask = Any  # None (every lane live) or a bool array broadcastable to the lane shape
Step = Callable[[Env, Mask], None]


def output_count(fn: func.FuncOp) -> int:
    attr = fn.attributes.get(OUTPUTS_ATTR)
    if not isinstance(attr, IntegerAttr):
        raise error_at(fn, f"@{fn.sym_name.data} has no '{OUTPUTS_ATTR}' attribute saying how many trailing arguments are outputs")
    return attr.value.data


# ---------------------------------------------------------------- scalar semantics


def _int_remainder(a, b):
    # C semantics: the sign of the dividend; x % 0 gives 0 instead of faulting.
    return np.where(b == 0, 0, np.fmod(a, np.where(b == 0, 1, b)))


def _floordiv(a, b):
    return np.where(b == 0, 0, np.floor_divide(a, np.where(b == 0, 1, b)))


def _erf(x):
    return ref.erf(np.asarray(x))


def _rsqrt(x):
    return (1 / np.sqrt(x)).astype(np.asarray(x).dtype)


def _ipow(a, b):
    return np.power(a, np.maximum(b, 0))


BINARY: dict[str, Callable] = {
    "arith.addf": np.add,
    "arith.addi": np.add,
    "arith.subf": np.subtract,
    "arith.subi": np.subtract,
    "arith.mulf": np.multiply,
    "arith.muli": np.multiply,
    "arith.divf": np.divide,
    "arith.divsi": ref.int_div,
    "arith.floordivsi": _floordiv,
    "arith.remsi": _int_remainder,
    "arith.maximumf": np.maximum,
    "arith.minimumf": np.minimum,
    "arith.maxsi": np.maximum,
    "arith.minsi": np.minimum,
    # Unsigned ops: the values are held in numpy's unsigned dtypes, so numpy's own ops fit.
    "arith.divui": ref.int_div,
    "arith.remui": _int_remainder,
    "arith.maxui": np.maximum,
    "arith.minui": np.minimum,
    "arith.andi": np.bitwise_and,
    "arith.ori": np.bitwise_or,
    "arith.xori": np.bitwise_xor,
    "math.powf": np.power,
    "math.ipowi": _ipow,
}
UNARY: dict[str, Callable] = {
    "arith.negf": np.negative,
    "math.exp": np.exp,
    "math.log": np.log,
    "math.sqrt": np.sqrt,
    "math.rsqrt": _rsqrt,
    "math.tanh": np.tanh,
    "math.erf": _erf,
    "math.sin": np.sin,
    "math.cos": np.cos,
    "math.floor": np.floor,
    "math.ceil": np.ceil,
    "math.roundeven": np.round,
    "math.absf": np.abs,
    "math.absi": np.abs,
    "math.trunc": np.trunc,
}
CASTS = {"arith.index_cast", "arith.sitofp", "arith.fptosi", "arith.extf", "arith.truncf", "arith.extsi", "arith.trunci", "arith.uitofp", "arith.extui", "arith.fptoui"}
# Signed (2-5) and unsigned (6-9) predicates alike: the operands carry their numpy signedness.
CMPI = {0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal, 4: np.greater, 5: np.greater_equal,
        6: np.less, 7: np.less_equal, 8: np.greater, 9: np.greater_equal}  # fmt: skip


def _unordered(cmp: Callable) -> Callable:
    return lambda a, b: cmp(a, b) | np.isnan(a) | np.isnan(b)


# arith.cmpf predicates by number: o* are false when either side is NaN, u* are true.
CMPF = {
    0: lambda a, b: np.zeros(np.broadcast(a, b).shape, np.bool_),
    1: np.equal, 2: np.greater, 3: np.greater_equal, 4: np.less, 5: np.less_equal,
    6: lambda a, b: np.not_equal(a, b) & ~np.isnan(a) & ~np.isnan(b),
    7: lambda a, b: ~np.isnan(a) & ~np.isnan(b),
    8: _unordered(np.equal), 9: _unordered(np.greater), 10: _unordered(np.greater_equal),
    11: _unordered(np.less), 12: _unordered(np.less_equal), 13: np.not_equal,
    14: lambda a, b: np.isnan(a) | np.isnan(b),
    15: lambda a, b: np.ones(np.broadcast(a, b).shape, np.bool_),
}  # fmt: skip


def scalar_dtype(t) -> np.dtype:
    return np.dtype(np.int64) if isinstance(t, IndexType) else numpy_dtype(t)


def _typed(fn: Callable, dtype: np.dtype) -> Callable:
    def run(*args):
        out = fn(*args)
        return out if getattr(out, "dtype", None) == dtype else np.asarray(out).astype(dtype)

    return run


# ---------------------------------------------------------------- compilation


class LoopFunction:
    """One loop function compiled to closures; call `run(inputs)` or `run_into(buffers)`."""

    def __init__(self, fn: func.FuncOp):
        self.fn = fn
        self.slots: dict[SSAValue, int] = {}
        self.private: dict[int, list[tuple[int, int]]] = {}  # buffer slot -> (lane var slot, step)
        self.symbols: dict[str, int] = {}
        self.lane_rank = _max_parallel_depth(fn.body.block)
        for arg in fn.body.block.args:
            self._slot(arg)
        self.body = self._block(fn.body.block, 0)

    # -- slots

    def _slot(self, value: SSAValue) -> int:
        slot = self.slots.get(value)
        if slot is None:
            slot = self.slots[value] = len(self.slots)
        return slot

    def _block(self, block: Block, depth: int) -> list[Step]:
        return [step for op in block.ops if (step := self._op(op, depth)) is not None]

    # -- ops

    def _op(self, op: Operation, depth: int) -> Step | None:
        name = op.name
        ins = [self._slot(v) for v in op.operands]
        outs = [self._slot(r) for r in op.results]
        if name in BINARY:
            fn, (a, b), (o,) = _typed(BINARY[name], scalar_dtype(op.results[0].type)), ins, outs

            def binary(env, mask):
                env[o] = fn(env[a], env[b])

            return binary
        if name in UNARY or name in CASTS:
            dtype = scalar_dtype(op.results[0].type)
            fn = _typed(UNARY[name], dtype) if name in UNARY else (lambda x: np.asarray(x).astype(dtype))
            (a,), (o,) = ins, outs

            def unary(env, mask):
                env[o] = fn(env[a])

            return unary
        if name == "arith.bitcast":
            dtype = scalar_dtype(op.results[0].type)
            (a,), (o,) = ins, outs

            def bitcast(env, mask):
                env[o] = np.asarray(env[a]).view(dtype)

            return bitcast
        if name in ("arith.cmpi", "arith.cmpf"):
            table = CMPI if name == "arith.cmpi" else CMPF
            pred = op.predicate.value.data
            if pred not in table:
                raise error_at(op, f"the loop interpreter does not support {name} predicate {pred}")
            cmp, (a, b), (o,) = table[pred], ins, outs

            def compare(env, mask):
                env[o] = cmp(env[a], env[b])

            return compare
        if name == "arith.select":
            (c, a, b), (o,) = ins, outs
            dtype = scalar_dtype(op.results[0].type)

            def select(env, mask):
                env[o] = np.where(env[c], env[a], env[b]).astype(dtype, copy=False)

            return select
        if name == "arith.constant":
            return self._constant(op)
        if name == "loop.yield" or isinstance(op, func.ReturnOp):
            return None
        handler = getattr(self, "_" + name.replace("loop.", "loop_"), None)
        if name.startswith("loop.") and handler is not None:
            return handler(op, ins, outs, depth)
        raise error_at(op, f"the loop interpreter has no semantics for '{name}'")

    def _constant(self, op: arith.ConstantOp) -> Step:
        attr = op.value
        if isinstance(attr, IntegerAttr):
            t = attr.type
            value = int(attr.value.data) if isinstance(t, IndexType) else np.asarray(attr.value.data).astype(scalar_dtype(t))
            if t == IntegerType(1):
                value = np.bool_(attr.value.data != 0)
        elif isinstance(attr, FloatAttr):
            value = np.asarray(attr.value.data).astype(scalar_dtype(attr.type))[()]
        else:
            raise error_at(op, "the loop interpreter supports scalar integer and float constants only")
        o = self._slot(op.result)

        def constant(env, mask):
            env[o] = value

        return constant

    def _loop_const(self, op, ins, outs, depth) -> Step:
        array = op.attr("value").view()
        array.flags.writeable = False
        (o,) = outs

        def const(env, mask):
            env[o] = array

        return const

    def _loop_alloc(self, op, ins, outs, depth) -> Step:
        t: BufferType = op.results[0].type
        dtype = t.dtype
        # Fresh buffers hold NaN (floats) or a sentinel so a read before any write shows up.
        fill = np.nan if np.issubdtype(dtype, np.floating) else (True if dtype == np.bool_ else np.iinfo(dtype).min)
        shape_of = [d if isinstance(d, int) else None for d in t.shape]
        (o,) = outs
        # A buffer allocated inside parallel loops belongs to one iteration of them; their
        # iterations run here as lanes at once, so it gets one copy per lane, and its accesses
        # select the copy by the lanes' positions (`_private_index`).
        lane_loops = [p for p in enclosing_loops(op) if p.attr("kind") == "parallel"]
        if lane_loops:
            self.private[o] = [(self._slot(p.body.block.args[0]), p.attr("step")) for p in lane_loops]
        lane_vars = self.private.get(o, [])

        def alloc(env, mask):
            sizes = iter(env[i] for i in ins)
            shape = tuple(int(next(sizes)) if d is None else d for d in shape_of)
            lanes = tuple(int(np.size(env[var])) for var, _ in lane_vars)
            env[o] = np.full(lanes + shape, fill, dtype=dtype)

        return alloc

    def _private_index(self, buffer_slot: int, env, index: list) -> list:
        """The index into a per-lane copy of a buffer (see `_loop_alloc`): the position of each
        enclosing parallel loop's lane, then the buffer's own index."""
        lanes = self.private.get(buffer_slot)
        if not lanes:
            return index
        return [(np.asarray(env[var]) - np.min(env[var])) // step for var, step in lanes] + index

    def _loop_size(self, op, ins, outs, depth) -> Step:
        dim = parse_dim(op.attr("value"))
        (o,) = outs
        symbols = self.symbols

        def size(env, mask):
            try:
                env[o] = evaluate_dim(dim, symbols)
            except KeyError as e:
                raise error_at(op, f"size symbol {e.args[0]} is not bound by the function's arguments") from None

        return size

    def _loop_load(self, op, ins, outs, depth) -> Step:
        b, idx, (o,) = ins[0], ins[1:], outs

        def load(env, mask):
            buf = env[b]
            env[o] = buf[_checked_index(op, buf.shape, self._private_index(b, env, [env[i] for i in idx]), mask)]

        return load

    def _loop_prefetch(self, op, ins, outs, depth) -> Step:
        b, offset = ins

        def prefetch(env, mask):
            # No effect on values; the offset is checked so a pass that computes it is tested.
            _checked_index(op, (env[b].size,), [env[offset]], mask)

        return prefetch

    def _loop_store(self, op, ins, outs, depth) -> Step:
        v, b, idx = ins[0], ins[1], ins[2:]

        def store(env, mask):
            buf = env[b]
            index = self._private_index(b, env, [env[i] for i in idx])
            value = env[v]
            if mask is None and all(isinstance(i, int | np.integer) for i in index):
                _checked_index(op, buf.shape, index, None)
                buf[tuple(index)] = value
                return
            parts = np.broadcast_arrays(value, *index, *(() if mask is None else (mask,)))
            if mask is not None:
                live = parts[-1]
                parts = [p[live] for p in parts[:-1]]
            value, index = parts[0], parts[1:]
            buf[_checked_index(op, buf.shape, index, None)] = value

        return store

    def _loop_for(self, op, ins, outs, depth) -> Step:
        lo, hi = ins
        step = op.attr("step")
        var = self._slot(op.body.block.args[0])
        if op.attr("kind") == "parallel":
            body = self._block(op.body.block, depth + 1)
            lane_shape = [1] * self.lane_rank
            lane_shape[depth] = -1

            def vector_for(env, mask):
                lower, upper = env[lo], env[hi]
                uniform = np.ndim(lower) == 0 and np.ndim(upper) == 0
                start, stop = (int(lower), int(upper)) if uniform else (int(np.min(lower)), int(np.max(upper)))
                if stop <= start:
                    return
                lanes = np.arange(start, stop, step, dtype=np.int64).reshape(lane_shape)
                inner = mask
                if not uniform:
                    live = (lanes >= lower) & (lanes < upper) & ((lanes - lower) % step == 0)
                    inner = live if mask is None else live & mask
                    if not inner.any():
                        return
                env[var] = lanes
                for s in body:
                    s(env, inner)

            return vector_for
        body = self._block(op.body.block, depth)

        def serial_for(env, mask):
            lower, upper = env[lo], env[hi]
            if np.ndim(lower) == 0 and np.ndim(upper) == 0:
                for v in range(int(lower), int(upper), step):
                    env[var] = v
                    for s in body:
                        s(env, mask)
                return
            for v in range(int(np.min(lower)), int(np.max(upper)), step):
                live = (v >= lower) & (v < upper) & ((v - lower) % step == 0)
                inner = live if mask is None else live & mask
                if not np.any(inner):
                    continue
                env[var] = v
                for s in body:
                    s(env, inner)

        return serial_for

    def _loop_block(self, op, ins, outs, depth) -> Step:
        kinds = op.attr("iter_kinds")
        init_args = [self._slot(a) for a in op.init.block.args]
        body_args = [self._slot(a) for a in op.body.block.args]
        if len(init_args) != len(ins) or len(body_args) != len(ins):
            raise error_at(op, f"'loop.block' regions must take {len(ins)} iterator arguments")
        init = self._block(op.init.block, depth)
        body = self._block(op.body.block, depth)
        reduce_at = [k for k, c in enumerate(kinds) if c == REDUCE]

        def block(env, mask):
            values = [env[i] for i in ins]
            if init:
                for s, v in zip(init_args, values):
                    env[s] = v
                if not reduce_at:
                    first = None
                else:
                    first = np.logical_and.reduce([np.equal(values[k], 0) for k in reduce_at])
                if first is None or np.ndim(first) == 0:
                    if first is None or bool(first):
                        for s in init:
                            s(env, mask)
                else:
                    init_mask = first if mask is None else first & mask
                    if init_mask.any():
                        for s in init:
                            s(env, init_mask)
            for s, v in zip(body_args, values):
                env[s] = v
            for s in body:
                s(env, mask)

        return block

    def _loop_if(self, op, ins, outs, depth) -> Step:
        (c,) = ins
        then = self._block(op.then.block, depth)

        def if_(env, mask):
            cond = env[c]
            if np.ndim(cond) == 0:
                if bool(cond):
                    for s in then:
                        s(env, mask)
                return
            inner = cond if mask is None else cond & mask
            if inner.any():
                for s in then:
                    s(env, inner)

        return if_

    # -- running

    def run_into(self, buffers: Sequence[np.ndarray]) -> None:
        """Run on caller-provided buffers (inputs then outputs), writing the outputs in place."""
        args = self.fn.body.block.args
        if len(buffers) != len(args):
            raise LaminaError(f"@{self.fn.sym_name.data} takes {len(args)} buffers, got {len(buffers)}")
        self.symbols.clear()
        self.symbols.update(_bind_symbols(self.fn, buffers))
        env: Env = [None] * len(self.slots)
        for arg, buf in zip(args, buffers):
            env[self._slot(arg)] = buf
        with np.errstate(all="ignore"):
            for s in self.body:
                s(env, None)

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Allocate the outputs from the argument types and run; returns the outputs."""
        args = self.fn.body.block.args
        n_out = output_count(self.fn)
        n_in = len(args) - n_out
        inputs = [np.asarray(a) for a in inputs]
        if len(inputs) != n_in:
            raise LaminaError(f"@{self.fn.sym_name.data} takes {n_in} inputs, got {len(inputs)}")
        symbols = _bind_symbols(self.fn, inputs)
        outputs = []
        for arg in args[n_in:]:
            t: BufferType = arg.type
            try:
                shape = tuple(evaluate_dim(d, symbols) for d in t.shape)
            except KeyError as e:
                raise LaminaError(f"output size symbol {e.args[0]} is not bound by any input shape") from None
            outputs.append(np.zeros(shape, dtype=t.dtype))
        self.run_into([*inputs, *outputs])
        return outputs


def _max_parallel_depth(block: Block) -> int:
    deepest = 0
    for op in block.ops:
        inner = 1 if op.name == "loop.for" and op.attr("kind") == "parallel" else 0
        for region in op.regions:
            for b in region.blocks:
                deepest = max(deepest, inner + _max_parallel_depth(b))
        deepest = max(deepest, inner)
    return deepest


def _bind_symbols(fn: func.FuncOp, buffers: Sequence[np.ndarray]) -> dict[str, int]:
    """Values of the size symbols, from the shapes of the buffers bound to bare-symbol dims;
    every other dimension is checked against them."""
    env: dict[str, int] = {}
    pairs = [(a.type, b) for a, b in zip(fn.body.block.args, buffers) if isinstance(a.type, BufferType)]
    for k, (t, buf) in enumerate(pairs):
        if buf.dtype != t.dtype:
            raise LaminaError(f"buffer #{k} of @{fn.sym_name.data} must be {t.dtype}, got {buf.dtype}")
        if buf.ndim != t.rank:
            raise LaminaError(f"buffer #{k} of @{fn.sym_name.data} must have rank {t.rank}, got shape {buf.shape}")
        for d, n in zip(t.shape, buf.shape):
            name = d.as_symbol() if isinstance(d, SymDim) else None
            if name is not None and env.setdefault(name, n) != n:
                raise LaminaError(f"buffer #{k}: size '{name}' is {env[name]} elsewhere but {n} here")
    for k, (t, buf) in enumerate(pairs):
        for axis, (d, n) in enumerate(zip(t.shape, buf.shape)):
            try:
                want = evaluate_dim(d, env)
            except KeyError:
                continue
            if want != n:
                raise LaminaError(f"buffer #{k} of @{fn.sym_name.data} axis {axis} must be {d}, got {n}")
    return env


def _checked_index(op: Operation, shape: tuple[int, ...], index: list, mask: Mask) -> tuple:
    """The index as a numpy index tuple, after checking live lanes are in bounds; dead lanes are
    redirected to element 0 so they never fault."""
    out = []
    for axis, (i, n) in enumerate(zip(index, shape)):
        if isinstance(i, int | np.integer):
            if not 0 <= i < n:
                if mask is not None and not np.any(mask):
                    i = 0
                else:
                    raise error_at(op, f"index {int(i)} is out of bounds for axis {axis} of size {n}")
            out.append(int(i))
            continue
        i = np.asarray(i)
        if i.dtype != np.int64:
            i = i.astype(np.int64)
        if mask is not None:
            i = np.where(mask, i, 0)
        if i.size and (i.min() < 0 or i.max() >= n):
            bad = int(i.min()) if i.min() < 0 else int(i.max())
            raise error_at(op, f"index {bad} is out of bounds for axis {axis} of size {n}")
        out.append(i)
    return tuple(out)


def compile_function(module: ModuleOp | func.FuncOp, name: str | None = None) -> LoopFunction:
    """Compile once, run many times (property tests run one function on several inputs)."""
    return LoopFunction(find_function(module, name))


def run_function(module: ModuleOp | func.FuncOp, *inputs: np.ndarray, name: str | None = None) -> list[np.ndarray]:
    """Run a loop function on input arrays; returns its outputs (allocated here)."""
    return LoopFunction(find_function(module, name)).run(inputs)

