"""Types shared by every dialect: element types (xDSL's builtin ones) and shaped types whose
dimensions may be symbolic (`tensor<n x 784 x f32>`, `memref<n x 784 x f32>`).

xDSL's builtin TensorType only knows `?` for unknown sizes, so shaped types are our own; their
element types are xDSL's builtin f16/f32/f64/iN/index so arith and math ops apply unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntAttr,
    IntegerType,
    Signedness,
    StringAttr,
)
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition, param_def

from lamina.ir.dims import Dim, SymDim, dim_product, dim_str, parse_dim

# ---------------------------------------------------------------- element types

f16 = Float16Type()
f32 = Float32Type()
f64 = Float64Type()
i1 = IntegerType(1)
i8 = IntegerType(8)
i16 = IntegerType(16)
i32 = IntegerType(32)
i64 = IntegerType(64)
u8 = IntegerType(8, signedness=Signedness.UNSIGNED)
u16 = IntegerType(16, signedness=Signedness.UNSIGNED)
u32 = IntegerType(32, signedness=Signedness.UNSIGNED)
u64 = IntegerType(64, signedness=Signedness.UNSIGNED)
index = IndexType()

ELEMENT_TYPES: dict[str, Attribute] = {
    "f16": f16,
    "f32": f32,
    "f64": f64,
    "i1": i1,
    "i8": i8,
    "i16": i16,
    "i32": i32,
    "i64": i64,
    "ui8": u8,
    "ui16": u16,
    "ui32": u32,
    "ui64": u64,
    "index": index,
}
_NAME_OF = {v: k for k, v in ELEMENT_TYPES.items()}
_NUMPY_OF = {
    "f16": np.float16,
    "f32": np.float32,
    "f64": np.float64,
    "i1": np.bool_,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "ui8": np.uint8,
    "ui16": np.uint16,
    "ui32": np.uint32,
    "ui64": np.uint64,
    "index": np.int64,
}
_ELEMENT_OF_NUMPY = {np.dtype(v): ELEMENT_TYPES[k] for k, v in _NUMPY_OF.items() if k != "index"}


def element_type_name(t: Attribute) -> str:
    try:
        return _NAME_OF[t]
    except KeyError:
        raise ValueError(f"unsupported element type {t}") from None


def element_type_from_name(name: str) -> Attribute:
    try:
        return ELEMENT_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown element type '{name}' (expected one of {', '.join(ELEMENT_TYPES)})") from None


def numpy_dtype(t: Attribute) -> np.dtype:
    return np.dtype(_NUMPY_OF[element_type_name(t)])


def element_type_of_numpy(dtype) -> Attribute:
    try:
        return _ELEMENT_OF_NUMPY[np.dtype(dtype)]
    except KeyError:
        raise ValueError(f"numpy dtype {np.dtype(dtype)} has no lamina element type") from None


def is_float(t: Attribute) -> bool:
    return isinstance(t, Float16Type | Float32Type | Float64Type)


def is_bool(t: Attribute) -> bool:
    return t == i1


def is_integer(t: Attribute) -> bool:
    return isinstance(t, IntegerType | IndexType) and t != i1


def is_unsigned(t: Attribute) -> bool:
    """ui8 ... ui64: compared, divided, widened and converted as unsigned."""
    return isinstance(t, IntegerType) and t.signedness.data == Signedness.UNSIGNED


# ---------------------------------------------------------------- shaped types


def dim_attr(d: Dim) -> Attribute:
    if isinstance(d, int):
        return IntAttr(d)
    return StringAttr(dim_str(d))


def dim_of_attr(a: Attribute) -> Dim:
    if isinstance(a, IntAttr):
        return a.data
    assert isinstance(a, StringAttr)
    return parse_dim(a.data)


class ShapedTypeMixin:
    """Shape access shared by tensors and buffers. `dims` holds IntAttr (static) or StringAttr
    (a canonical symbolic expression)."""

    dims: ArrayAttr
    element_type: Attribute
    KEYWORD: ClassVar[str] = ""

    @property
    def shape(self) -> tuple[Dim, ...]:
        cached = self.__dict__.get("_shape")
        if cached is None:
            cached = tuple(dim_of_attr(a) for a in self.dims.data)
            object.__setattr__(self, "_shape", cached)
        return cached

    @property
    def rank(self) -> int:
        return len(self.dims.data)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, IntAttr) for d in self.dims.data)

    def symbols(self) -> set[str]:
        out: set[str] = set()
        for d in self.shape:
            if isinstance(d, SymDim):
                out |= d.symbols()
        return out

    def num_elements(self) -> Dim:
        return dim_product(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return numpy_dtype(self.element_type)

    def text(self) -> str:
        """`tensor<4x8xf32>` when static, `tensor<n x 8 x f32>` when any dimension is symbolic
        (a compact `nx8` would be ambiguous)."""
        dims = [dim_str(d) for d in self.shape]
        elem = element_type_name(self.element_type)
        if self.is_static:
            return f"{self.KEYWORD}<{''.join(d + 'x' for d in dims)}{elem}>"
        return f"{self.KEYWORD}<{' x '.join([*dims, elem])}>"

    def __str__(self) -> str:
        return self.text()


@irdl_attr_definition
class TensorType(ShapedTypeMixin, ParametrizedAttribute, TypeAttribute):
    """An immutable value tensor of the graph dialect."""

    name = "lamina.tensor"
    KEYWORD: ClassVar[str] = "tensor"

    dims: ArrayAttr = param_def()
    element_type: Attribute = param_def()

    @staticmethod
    def of(shape: Sequence[Dim | str], element_type: Attribute) -> TensorType:
        return TensorType(ArrayAttr([dim_attr(_as_dim(d)) for d in shape]), element_type)

    def with_shape(self, shape: Sequence[Dim]) -> TensorType:
        return TensorType.of(shape, self.element_type)

    def with_element_type(self, element_type: Attribute) -> TensorType:
        return TensorType(self.dims, element_type)


@irdl_attr_definition
class BufferType(ShapedTypeMixin, ParametrizedAttribute, TypeAttribute):
    """A mutable buffer of the loop and device dialects, row-major."""

    name = "lamina.memref"
    KEYWORD: ClassVar[str] = "memref"

    dims: ArrayAttr = param_def()
    element_type: Attribute = param_def()

    @staticmethod
    def of(shape: Sequence[Dim | str], element_type: Attribute) -> BufferType:
        return BufferType(ArrayAttr([dim_attr(_as_dim(d)) for d in shape]), element_type)


def _as_dim(d: Dim | str) -> Dim:
    if isinstance(d, str):
        return parse_dim(d)
    if isinstance(d, np.integer):
        return int(d)
    return d


SHAPED_TYPES = {"tensor": TensorType, "memref": BufferType}


def type_text(t: Attribute) -> str:
    """The textual form of any type lamina prints."""
    if isinstance(t, ShapedTypeMixin):
        return t.text()
    name = _NAME_OF.get(t)
    if name is not None:
        return name
    from xdsl.dialects.builtin import FunctionType

    if isinstance(t, FunctionType):
        ins = ", ".join(type_text(x) for x in t.inputs.data)
        outs = [type_text(x) for x in t.outputs.data]
        out = outs[0] if len(outs) == 1 and not isinstance(t.outputs.data[0], FunctionType) else f"({', '.join(outs)})"
        return f"({ins}) -> {out}"
    raise ValueError(f"type {t} has no lamina text form")
