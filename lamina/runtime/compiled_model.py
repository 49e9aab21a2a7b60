"""A compiled model: one native entry point called through ctypes, with the input checks and
argument marshalling worked out once at construction so a call costs a few microseconds."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import SymDim, evaluate_dim
from lamina.runtime.abi import ModuleSignature, TensorSpec
from lamina.targets.host import usable_cores

RUN_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32)
WORKSPACE_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)


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
        n_buffers = len(signature.inputs) + len(signature.outputs)
        self._buffers = (ctypes.c_void_p * n_buffers)()
        self._symbols = (ctypes.c_int64 * max(1, len(signature.symbols)))()
        self._workspaces: dict[tuple[int, ...], np.ndarray] = {}
        self._static_outputs = all(isinstance(d, int) for t in signature.outputs for d in t.shape)

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.signature.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.signature.outputs]

    def _order(self, args: tuple, kwargs: dict) -> Sequence[Any]:
        if len(args) == 1 and isinstance(args[0], Mapping) and not kwargs:
            kwargs, args = dict(args[0]), ()
        if kwargs:
            if args:
                raise LaminaError("pass inputs either by position or by name, not both")
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

    def __call__(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        values = self._order(args, kwargs)
        arrays = [contiguous(as_array(v, f"input #{i} '{self._checks[i].spec.name}'")) for i, v in enumerate(values)]
        symbols = self._bind(arrays)
        env = dict(zip(self.signature.symbols, symbols))
        outputs = [np.empty(t.concrete_shape(env), dtype=t.dtype) for t in self.signature.outputs]
        for k, v in enumerate(symbols):
            self._symbols[k] = v
        buffers = self._buffers
        for i, arr in enumerate(arrays):
            buffers[i] = arr.ctypes.data
        base = len(arrays)
        for i, arr in enumerate(outputs):
            buffers[base + i] = arr.ctypes.data
        workspace = self._workspace(symbols)
        status = self._run(ctypes.addressof(buffers), ctypes.addressof(self._symbols), workspace.ctypes.data, self.threads)
        if status != 0:
            raise LaminaError(f"the compiled model reported failure (status {status})")
        return outputs

    def _workspace(self, symbols: tuple[int, ...]) -> np.ndarray:
        ws = self._workspaces.get(symbols)
        if ws is None:
            if len(self._workspaces) > 8:
                self._workspaces.clear()
            nbytes = int(self._workspace_bytes(ctypes.addressof(self._symbols)))
            # 64 extra bytes so the start can be aligned to a cache line.
            raw = np.empty(nbytes + 64, dtype=np.uint8)
            offset = (-raw.ctypes.data) % 64
            ws = raw[offset : offset + nbytes] if nbytes else raw[offset : offset + 1]
            self._workspaces[symbols] = ws
        return ws

    def peak_workspace_bytes(self, **symbols: int) -> int:
        from lamina.ir.dims import parse_dim

        return evaluate_dim(parse_dim(self.signature.peak_workspace), symbols)
