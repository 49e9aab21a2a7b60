"""A compiled model: one native entry point called through ctypes, with the input checks and
argument marshalling worked out once so that a call costs a few microseconds.

A call takes one of two paths. The fast path serves positional numpy arrays of the expected
dtype, C-contiguous, whose shapes were seen (and fully checked) before or are the model's only
static shapes: it looks each input's (type, shape, dtype, C-contiguity) up, all inputs at once,
in a table of bindings (symbol values, output shapes and workspace, worked out once per
distinct set of shapes), and reuses the data pointer of an input array it was
given on the previous call. Everything else (names, dicts, DLPack objects, strided views,
scalars, wrong inputs, unseen shapes, a concurrent call) takes the checked path, which
converts, checks each input with an error naming it, and fills the table for next time."""

from __future__ import annotations

import ctypes
import operator
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import SymDim, evaluate_dim
from lamina.runtime.abi import ModuleSignature, TensorSpec
from lamina.targets.host import usable_cores

RUN_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32)
WORKSPACE_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)

# Distinct input shapes remembered per model (each keeps its output shapes and a workspace);
# a model called with ever new batch sizes starts over rather than growing without bound.
MAX_BINDINGS = 8


def default_threads(threads: int | None) -> int:
    if threads is not None:
        if threads < 1:
            raise LaminaError(f"threads must be at least 1, got {threads}")
        return threads
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return usable_cores()


class _InputCheck:
    """Precomputed checks for one input: dtype, rank, static dims, and which symbols it binds."""

    def __init__(self, index: int, spec: TensorSpec, symbols: tuple[str, ...]):
        self.index = index
        self.spec = spec
        self.static = [(axis, d) for axis, d in enumerate(spec.shape) if isinstance(d, int)]
        self.binds = [
            (axis, symbols.index(d.as_symbol()))
            for axis, d in enumerate(spec.shape)
            if isinstance(d, SymDim) and d.as_symbol() in symbols
        ]
        self.derived = [(axis, d) for axis, d in enumerate(spec.shape) if isinstance(d, SymDim) and d.as_symbol() is None]

    def describe(self) -> str:
        return f"input #{self.index} '{self.spec.name}'"


def as_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "__dlpack__"):
        try:
            return np.from_dlpack(value)
        except (TypeError, BufferError, RuntimeError) as e:
            raise LaminaError(f"{what}: cannot read it through DLPack ({e})") from None
    if np.isscalar(value):
        return np.asarray(value)
    raise LaminaError(f"{what}: expected a numpy array or an object with __dlpack__, got {type(value).__name__}")


def contiguous(a: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d array into a 1-d one.
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


_addressof = ctypes.addressof
_char_view = ctypes.c_char.from_buffer


def data_address(a: np.ndarray) -> int:
    """The address of a C-contiguous array's first element. Viewing it through the buffer
    protocol costs a quarter of `a.ctypes.data`; read-only and empty arrays cannot be viewed
    that way (ctypes wants a writable buffer of at least one byte) and take the slow road."""
    try:
        return _addressof(_char_view(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


# What the fast path looks up per input: an exact numpy array, its shape, its dtype, and whether
# it is C-contiguous. Bindings are filed under (np.ndarray, shape, expected dtype, True) only.
_probe = operator.attrgetter("__class__", "shape", "dtype", "flags.c_contiguous")


def _no_array() -> None:
    """Stands for a dead weak reference: the slot of an input not seen yet."""
    return None


class _Binding:
    """What one set of input shapes fixes: the symbol values (in a ctypes array whose address
    the native call takes), the output shapes and a workspace of the size they need."""

    __slots__ = ("symbols", "symbols_address", "outputs", "workspace", "workspace_address")

    def __init__(self, symbols: ctypes.Array, outputs: tuple[tuple[tuple[int, ...], np.dtype], ...], workspace: np.ndarray):
        self.symbols = symbols
        self.symbols_address = ctypes.addressof(symbols)
        self.outputs = outputs
        self.workspace = workspace
        self.workspace_address = workspace.ctypes.data


class CompiledModel:
    """Call with arrays in input order, or a dict by input name; returns a list of numpy arrays."""

    def __init__(self, signature: ModuleSignature, run_address: int, workspace_address: int, keep_alive: Any, threads: int | None = None):
        self.signature = signature
        self._keep_alive = keep_alive
        self._run = RUN_FN(run_address)
        self._workspace_bytes = WORKSPACE_FN(workspace_address)
        self.threads = default_threads(threads)
        self._checks = [_InputCheck(i, s, signature.symbols) for i, s in enumerate(signature.inputs)]
        self._names = {s.name: i for i, s in enumerate(signature.inputs)}
        self._arity = len(signature.inputs)
        self._input_names = tuple(s.name for s in signature.inputs)
        self._dtypes = tuple(s.dtype for s in signature.inputs)
        self._bindings: dict[tuple, _Binding] = {}  # keyed as _key_of_shapes says
        # The fast path's argument array (inputs, then outputs) and, per input, a weak reference
        # to the array whose address sits in it. A live numpy array's data never moves: its
        # `data` cannot be assigned and numpy refuses to resize an array that has weak
        # references, even with refcheck=False. A dead reference answers None, so an id reused
        # by a new array cannot be mistaken for the old one, and no input is kept alive.
        self._buffers = (ctypes.c_void_p * (self._arity + len(signature.outputs)))()
        self._buffers_address = ctypes.addressof(self._buffers)
        self._input_slots: list[Any] = [_no_array] * self._arity
        # Held by the call using the shared argument array and workspaces; a concurrent call
        # (ctypes releases the GIL while native code runs) takes the checked path with its own.
        self._lock = threading.Lock()
        if not signature.symbols and all(isinstance(d, int) for s in signature.inputs for d in s.shape):
            self._bindings[self._key_of_shapes([tuple(s.shape) for s in signature.inputs])] = self._make_binding(())

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.signature.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.signature.outputs]

    def __call__(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        ordered = False
        if kwargs or len(args) != self._arity:
            args = self._order(args, kwargs)
            ordered = True
        try:
            binding = self._bindings.get(tuple(map(_probe, args)))
        except Exception:  # not an array (no .flags, an unhashable .shape ...): the checked path says what is wrong
            binding = None
        if binding is None or not self._lock.acquire(False):
            return self._call_checked(args if ordered else self._order(args, {}))
        try:
            buffers = self._buffers
            slots = self._input_slots
            for i, a in enumerate(args):
                if slots[i]() is not a:
                    seen = weakref.ref(a)
                    buffers[i] = data_address(a)
                    slots[i] = seen
            outputs = []
            slot = self._arity
            for shape, dtype in binding.outputs:
                out = np.empty(shape, dtype)
                buffers[slot] = data_address(out)
                outputs.append(out)
                slot += 1
            status = self._run(self._buffers_address, binding.symbols_address, binding.workspace_address, self.threads)
        finally:
            self._lock.release()
        if status != 0:
            raise LaminaError(f"the compiled model reported failure (status {status})")
        return outputs

    def _order(self, args: tuple, kwargs: dict) -> Sequence[Any]:
        if len(args) == 1 and not kwargs and isinstance(args[0], Mapping):
            kwargs, args = args[0], ()
        if kwargs:
            if args:
                raise LaminaError("pass inputs either by position or by name, not both")
            if len(kwargs) == self._arity:
                try:  # exactly the input names, the usual case: no set arithmetic needed
                    return [kwargs[n] for n in self._input_names]
                except KeyError:
                    pass
            unknown = sorted(set(kwargs) - set(self._names))
            if unknown:
                raise LaminaError(f"unknown input {unknown[0]!r}; inputs are {self.input_names}")
            missing = [n for n in self.input_names if n not in kwargs]
            if missing:
                raise LaminaError(f"missing input {missing[0]!r}")
            return [kwargs[n] for n in self.input_names]
        if len(args) != len(self._checks):
            raise LaminaError(f"the model takes {len(self._checks)} inputs ({', '.join(self.input_names)}), got {len(args)}")
        return args

    def _bind(self, arrays: list[np.ndarray]) -> tuple[int, ...]:
        values = [-1] * len(self.signature.symbols)
        for check, arr in zip(self._checks, arrays):
            spec = check.spec
            if arr.dtype != spec.dtype:
                raise LaminaError(f"{check.describe()} must have dtype {spec.dtype}, got {arr.dtype}")
            if arr.ndim != len(spec.shape):
                raise LaminaError(f"{check.describe()} must have rank {len(spec.shape)}, got shape {arr.shape}")
            for axis, want in check.static:
                if arr.shape[axis] != want:
                    raise LaminaError(f"{check.describe()} axis {axis} must be {want}, got shape {arr.shape}")
            for axis, k in check.binds:
                got = arr.shape[axis]
                if values[k] == -1:
                    values[k] = got
                elif values[k] != got:
                    name = self.signature.symbols[k]
                    raise LaminaError(f"{check.describe()} axis {axis}: '{name}' is {values[k]} from another input but {got} here")
        env = dict(zip(self.signature.symbols, values))
        for check, arr in zip(self._checks, arrays):
            for axis, d in check.derived:
                if evaluate_dim(d, env) != arr.shape[axis]:
                    raise LaminaError(f"{check.describe()} axis {axis} must be {d} = {evaluate_dim(d, env)}, got {arr.shape[axis]}")
        return tuple(values)

    def _call_checked(self, values: Sequence[Any]) -> list[np.ndarray]:
        """Every input converted and checked, with an error naming the one that does not fit;
        the shapes, once they pass, are remembered so the next such call takes the fast path."""
        arrays = [contiguous(as_array(v, self._checks[i].describe())) for i, v in enumerate(values)]
        symbols = self._bind(arrays)
        shapes = self._key_of_shapes([a.shape for a in arrays])
        binding = self._bindings.get(shapes)
        if binding is None:
            binding = self._make_binding(symbols)
            if len(self._bindings) >= MAX_BINDINGS:
                self._bindings.clear()
            self._bindings[shapes] = binding
        outputs = [np.empty(shape, dtype) for shape, dtype in binding.outputs]
        buffers = (ctypes.c_void_p * (len(arrays) + len(outputs)))(*[a.ctypes.data for a in arrays + outputs])
        if self._lock.acquire(False):
            try:
                status = self._run(ctypes.addressof(buffers), binding.symbols_address, binding.workspace_address, self.threads)
            finally:
                self._lock.release()
        else:
            workspace = self._allocate_workspace(binding.symbols_address)
            status = self._run(ctypes.addressof(buffers), binding.symbols_address, workspace.ctypes.data, self.threads)
        if status != 0:
            raise LaminaError(f"the compiled model reported failure (status {status})")
        return outputs

    def _key_of_shapes(self, shapes: Sequence[tuple[int, ...]]) -> tuple:
        """The fast path's lookup key for inputs of these shapes that pass every check."""
        return tuple((np.ndarray, shape, dtype, True) for shape, dtype in zip(shapes, self._dtypes))

    def _make_binding(self, symbols: tuple[int, ...]) -> _Binding:
        env = dict(zip(self.signature.symbols, symbols))
        outputs = tuple((t.concrete_shape(env), t.dtype) for t in self.signature.outputs)
        symbols_array = (ctypes.c_int64 * max(1, len(symbols)))(*symbols)
        return _Binding(symbols_array, outputs, self._allocate_workspace(ctypes.addressof(symbols_array)))

    def _allocate_workspace(self, symbols_address: int) -> np.ndarray:
        nbytes = int(self._workspace_bytes(symbols_address))
        # 64 extra bytes so the start can be aligned to a cache line.
        raw = np.empty(nbytes + 64, dtype=np.uint8)
        offset = (-raw.ctypes.data) % 64
        return raw[offset : offset + nbytes] if nbytes else raw[offset : offset + 1]

    def peak_workspace_bytes(self, **symbols: int) -> int:
        from lamina.ir.dims import parse_dim

        return evaluate_dim(parse_dim(self.signature.peak_workspace), symbols)
