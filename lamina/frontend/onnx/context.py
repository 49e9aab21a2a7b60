"""State of one ONNX import: the graph function being built, and what is known about each ONNX
value — its SSA value, its constant data, or (for 1-D int64 shape values) its elements as
symbolic dims, so Shape → Gather → Concat → Reshape folds even when the batch is symbolic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from xdsl.ir import Block, BlockArgument, SSAValue

from lamina.dialects.graph import Graph
from lamina.interpreter.graph import run_op
from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import Dim, dim_add, dim_exact_div, dim_mul, dim_sub, is_static
from lamina.ir.types import ShapedTypeMixin

ONNX_DTYPES = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.FLOAT16: np.float16,
    onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.INT16: np.int16,
    onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.UINT16: np.uint16,
    onnx.TensorProto.UINT32: np.uint32,
    onnx.TensorProto.UINT64: np.uint64,
    onnx.TensorProto.BOOL: np.bool_,
}


class Unsupported(Exception):
    """An op, attribute or dtype lamina cannot import; collected and reported together.
    `constant_inputs` names the graph inputs whose values would make it importable (a shape,
    axes or sizes operand fed as an input): binding them (`from_onnx(..., bind_inputs=...)`)
    specialises the model on them."""

    def __init__(self, message: str, constant_inputs: tuple[str, ...] = ()):
        super().__init__(message)
        self.constant_inputs = constant_inputs


def numpy_dtype_of(onnx_type: int) -> np.dtype:
    if onnx_type not in ONNX_DTYPES:
        name = onnx.TensorProto.DataType.Name(onnx_type) if onnx_type in onnx.TensorProto.DataType.values() else str(onnx_type)
        raise Unsupported(f"element type {name}")
    return np.dtype(ONNX_DTYPES[onnx_type])


@dataclass
class Val:
    """An ONNX value: an SSA value, or constant data, or symbolic 1-D shape data (dims)."""

    ssa: SSAValue | None = None
    const: np.ndarray | None = None
    dims: list[Dim] | None = None
    scalar: bool = False  # dims holds one element and the value is 0-d


class ImportContext:
    def __init__(self, block: Block, opset: int, input_names: Sequence[str] = ()):
        self.block = block
        self.opset = opset
        self.input_names = list(input_names)  # the graph input of each block argument
        self.values: dict[str, Val] = {}
        self.const_cache: dict[int, tuple[np.ndarray, SSAValue]] = {}
        self.node: onnx.NodeProto | None = None

    # ------------------------------------------------------------ building

    def emit(self, name: str, operands: Sequence[SSAValue | Val], attrs: dict[str, Any] | None = None) -> SSAValue:
        return self.emit_many(name, operands, attrs)[0]

    def emit_many(self, name: str, operands: Sequence[SSAValue | Val], attrs: dict[str, Any] | None = None) -> list[SSAValue]:
        values = [o if isinstance(o, SSAValue) else self.ssa(o) for o in operands]
        try:
            op = Graph[name].build(values, attrs or {})
        except LaminaError as e:
            raise LaminaError(f"node '{self.node_name()}' ({self.node.op_type if self.node else '?'}): {e.message}") from None
        self.block.add_op(op)
        return list(op.results)

    def node_name(self) -> str:
        return (self.node.name or (self.node.output[0] if self.node.output else "?")) if self.node else "?"

    def constant(self, array: np.ndarray) -> SSAValue:
        array = np.asarray(array)
        # Keyed by identity; the entry holds the array so its id is never reused meanwhile.
        cached = self.const_cache.get(id(array))
        if cached is not None and cached[0] is array:
            return cached[1]
        op = Graph["const"].build([], {"value": array})
        self.block.add_op(op)
        self.const_cache[id(array)] = (array, op.results[0])
        return op.results[0]

    def scalar(self, value, dtype) -> SSAValue:
        return self.constant(np.asarray(value, dtype=dtype))

    def ssa(self, v: Val) -> SSAValue:
        if v.ssa is not None:
            return v.ssa
        if v.const is not None:
            v.ssa = self.constant(v.const)
            return v.ssa
        if v.dims is not None:
            if all(is_static(d) for d in v.dims):
                v.const = np.array(v.dims[0] if v.scalar else v.dims, dtype=np.int64)
                v.ssa = self.constant(v.const)
                return v.ssa
            raise Unsupported("a symbolic shape value used as tensor data")
        raise AssertionError("empty value")

    # ------------------------------------------------------------ reading values

    def get(self, name: str) -> Val | None:
        if name == "":
            return None
        if name not in self.values:
            raise LaminaError(f"node '{self.node_name()}' uses '{name}', which no node or input defines")
        return self.values[name]

    def type_of(self, v: Val) -> ShapedTypeMixin:
        return self.ssa(v).type

    def shape(self, v: Val) -> tuple[Dim, ...]:
        if v.const is not None and v.ssa is None:
            return tuple(v.const.shape)
        if v.dims is not None and v.ssa is None:
            return () if v.scalar else (len(v.dims),)
        return self.type_of(v).shape

    def dtype(self, v: Val) -> np.dtype:
        if v.const is not None:
            return v.const.dtype
        if v.dims is not None and v.ssa is None:
            return np.dtype(np.int64)
        return self.type_of(v).dtype

    def rank(self, v: Val) -> int:
        return len(self.shape(v))

    def constant_value(self, v: Val | None) -> np.ndarray | None:
        """The value when it is known at import time (constants, and ops over constants)."""
        if v is None:
            return None
        if v.const is not None:
            return v.const
        if v.dims is not None and all(is_static(d) for d in v.dims):
            return np.array(v.dims[0] if v.scalar else v.dims, dtype=np.int64)
        if v.ssa is not None:
            value = self._evaluate(v.ssa, {})
            if value is not None:
                v.const = value
            return value
        return None

    def _evaluate(self, value: SSAValue, memo: dict) -> np.ndarray | None:
        owner = value.owner
        if value in memo:
            return memo[value]
        if not hasattr(owner, "name") or not owner.name.startswith("graph."):
            return None
        if owner.name == "graph.const":
            return owner.attr("value")
        inputs = [self._evaluate(o, memo) for o in owner.operands]
        if any(i is None for i in inputs) or not all(r.type.is_static for r in owner.results):
            return None
        outs = run_op(owner, inputs)
        for r, o in zip(owner.results, outs):
            memo[r] = o
        return memo[value]

    def inputs_feeding(self, v: Val) -> tuple[str, ...]:
        """The graph inputs a value is computed from."""
        seen, names, todo = set(), [], [v.ssa] if v.ssa is not None else []
        while todo:
            value = todo.pop()
            if value in seen:
                continue
            seen.add(value)
            if isinstance(value, BlockArgument) and value.block is self.block:
                names.append(self.input_names[value.index])
            elif value.owner is not None and not isinstance(value, BlockArgument):
                todo.extend(value.owner.operands)
        return tuple(sorted(set(names)))

    def must_be_constant(self, v: Val, what: str) -> Unsupported:
        inputs = self.inputs_feeding(v)
        if inputs:
            listed = ", ".join(f"'{n}'" for n in inputs)
            return Unsupported(f"{what} computed at run time from input {listed} (it must be a constant: bind it with bind_inputs to specialise the model)", inputs)
        return Unsupported(f"{what} computed at run time (it must be a constant)")

    def constant_array(self, v: Val, what: str) -> np.ndarray:
        """The import-time value of v, or a refusal naming the inputs it comes from."""
        c = self.constant_value(v)
        if c is None:
            raise self.must_be_constant(v, what)
        return np.asarray(c)

    def static_ints(self, v: Val | None, what: str) -> list[int] | None:
        if v is None:
            return None
        c = self.constant_value(v)
        if c is None:
            raise self.must_be_constant(v, what)
        return [int(x) for x in np.asarray(c).reshape(-1)]

    def shape_dims(self, v: Val, what: str) -> list[Dim]:
        """A 1-D int64 value as dims: constant or symbolic shape data."""
        if v.dims is not None:
            return list(v.dims)
        c = self.constant_value(v)
        if c is None:
            if self.inputs_feeding(v):
                raise self.must_be_constant(v, what)
            raise Unsupported(f"{what} computed at run time from data (only shapes of inputs can be symbolic)")
        return [int(x) for x in np.asarray(c).reshape(-1)]


def dims_binary(op: str, a: list[Dim], b: list[Dim]) -> list[Dim] | None:
    if len(a) != len(b):
        if len(a) == 1:
            a = a * len(b)
        elif len(b) == 1:
            b = b * len(a)
        else:
            return None
    out = []
    for x, y in zip(a, b):
        if op == "Add":
            out.append(dim_add(x, y))
        elif op == "Sub":
            out.append(dim_sub(x, y))
        elif op == "Mul":
            out.append(dim_mul(x, y))
        elif op == "Div":
            q = dim_exact_div(x, y)
            if q is None:
                return None
            out.append(q)
        else:
            return None
    return out
