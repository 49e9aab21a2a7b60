"""Literal pieces of the text format that the grammar keeps as single tokens: shaped types,
dense literals and the resource section. Parsed here without Python-level re-lexing of large
data (blobs go straight through bytes.fromhex into numpy)."""

from __future__ import annotations

import functools
import re

import numpy as np
from xdsl.dialects.builtin import VectorType
from xdsl.ir import Attribute

from lamina.ir.dims import DimError, parse_dim
from lamina.ir.types import ELEMENT_TYPES, SHAPED_TYPES


class LiteralError(ValueError):
    """A malformed literal; the caller adds the location. `offset` points into the literal's text
    when the fault is inside it (a bad entry of the resource section)."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.offset = offset


def element_type(name: str) -> Attribute:
    try:
        return ELEMENT_TYPES[name]
    except KeyError:
        known = ", ".join(ELEMENT_TYPES)
        raise LiteralError(f"unknown element type '{name}' (element types: {known})") from None


_COMPACT = re.compile(r"((?:\d+x)*)([A-Za-z_][A-Za-z0-9_]*)")


@functools.lru_cache(maxsize=4096)
def shaped_type(text: str) -> Attribute:
    """`tensor<4x8xf32>`, `tensor<n x 8 x f32>`, `memref<f32>`, `vector<8xf32>`."""
    keyword, body = text.split("<", 1)
    body = body[:-1].strip()
    if " x " in body or body.count("x") == 0 and " " in body:
        parts = [p.strip() for p in body.split(" x ")]
    else:
        m = _COMPACT.fullmatch(body.replace(" ", ""))
        if m is None:
            raise LiteralError(f"bad shape in '{text}': write static shapes as 4x8xf32 and symbolic ones as n x 8 x f32")
        parts = [p for p in m.group(1).split("x") if p] + [m.group(2)]
    *dims_text, elem_text = parts
    elem = element_type(elem_text)
    try:
        dims = [parse_dim(d) for d in dims_text]
    except DimError as e:
        raise LiteralError(f"bad dimension in '{text}': {e}") from None
    if keyword == "vector":
        if len(dims) != 1 or not isinstance(dims[0], int):
            raise LiteralError(f"a vector type has one static size, got '{text}'")
        return VectorType(elem, dims)
    if any(isinstance(d, int) and d < 0 for d in dims):
        raise LiteralError(f"negative size in '{text}'")
    return SHAPED_TYPES[keyword].of(dims, elem)


_DENSE_TOKEN = re.compile(r"\[|\]|,|[^\[\],\s]+")


def dense_literal(text: str) -> object:
    """The nested-list value of `dense<...>` as Python numbers (shape is checked by the caller)."""
    inner = text[len("dense<") : -1].strip()
    tokens = _DENSE_TOKEN.findall(inner)
    pos = 0

    def value():
        nonlocal pos
        if pos >= len(tokens):
            raise LiteralError(f"unterminated dense literal '{text}'")
        tok = tokens[pos]
        pos += 1
        if tok == "[":
            items = []
            if pos < len(tokens) and tokens[pos] == "]":
                pos += 1
                return items
            while True:
                items.append(value())
                if pos >= len(tokens):
                    raise LiteralError(f"unterminated dense literal '{text}'")
                sep = tokens[pos]
                pos += 1
                if sep == "]":
                    return items
                if sep != ",":
                    raise LiteralError(f"expected ',' or ']' in dense literal, got '{sep}'")
        return scalar(tok)

    out = value()
    if pos != len(tokens):
        raise LiteralError(f"unexpected '{tokens[pos]}' in dense literal")
    return out


def scalar(tok: str) -> object:
    if tok in ("true", "false"):
        return tok == "true"
    if tok in ("inf", "+inf"):
        return float("inf")
    if tok == "-inf":
        return float("-inf")
    if tok == "nan":
        return float("nan")
    try:
        return int(tok)
    except ValueError:
        pass
    try:
        return float(tok)
    except ValueError:
        raise LiteralError(f"'{tok}' is not a number") from None


def dense_array(value: object, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    try:
        arr = np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as e:
        raise LiteralError(f"dense literal does not fit {dtype}: {e}") from None
    if arr.ndim == 0:
        return np.full(shape, arr, dtype=dtype)
    if arr.shape != tuple(shape):
        raise LiteralError(f"dense literal has shape {list(arr.shape)} but the type says {list(shape)}")
    return arr


_RESOURCE_ENTRY = re.compile(r'([A-Za-z_][A-Za-z0-9_$.\-]*)\s*:\s*"0x([^"]*)"')


def resource_section(text: str) -> dict[str, tuple[bytes, int]]:
    """name -> (raw bytes after the alignment header, offset of the entry in `text`)."""
    if "dialect_resources" not in text:
        raise LiteralError("a {-# ... #-} section must hold dialect_resources")
    out: dict[str, tuple[bytes, int]] = {}
    for m in _RESOURCE_ENTRY.finditer(text):
        name, hexdata = m.group(1), m.group(2)
        try:
            raw = bytes.fromhex(hexdata)
        except ValueError:
            raise LiteralError(f"resource '{name}' is not valid hex", m.start()) from None
        if len(raw) < 4:
            raise LiteralError(f"resource '{name}' lacks its 4-byte alignment header", m.start())
        out[name] = (raw[4:], m.start())
    return out


def blob_array(raw: bytes, shape: tuple[int, ...], dtype: np.dtype, name: str) -> np.ndarray:
    count = int(np.prod(shape)) if shape else 1
    if len(raw) != count * dtype.itemsize:
        raise LiteralError(f"resource '{name}' holds {len(raw)} bytes but {list(shape)} x {dtype} needs {count * dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False).reshape(shape)
