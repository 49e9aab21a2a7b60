"""Constant tensors as attributes, backed by numpy arrays (never Python lists).

Large weights must not be copied element by element into Python objects, so the attribute holds
a read-only ndarray; equality and hashing (needed by CSE) use the dtype, shape and raw bytes.
"""

from __future__ import annotations

import hashlib

import numpy as np
from xdsl.ir import Data
from xdsl.irdl import irdl_attr_definition


class FrozenArray:
    """A read-only ndarray with value equality and a content hash computed once."""

    __slots__ = ("array", "_digest")

    def __init__(self, array: np.ndarray):
        arr = np.asarray(array)
        if not arr.flags.c_contiguous:
            arr = np.array(arr, order="C")  # ascontiguousarray would turn 0-d into 1-d
        if arr.flags.writeable:
            # The caller may still mutate a writeable array: keep our own copy. Importers that
            # hand over read-only arrays avoid the copy.
            arr = arr.copy()
            arr.flags.writeable = False
        self.array = arr
        self._digest: bytes | None = None

    def digest(self) -> bytes:
        if self._digest is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(str((self.array.dtype.str, self.array.shape)).encode())
            h.update(self.array.tobytes())
            self._digest = h.digest()
        return self._digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrozenArray):
            return NotImplemented
        if self is other:
            return True
        a, b = self.array, other.array
        return a.dtype == b.dtype and a.shape == b.shape and self.digest() == other.digest()

    def __hash__(self) -> int:
        return hash(self.digest())

    def __repr__(self) -> str:
        return f"FrozenArray({self.array.dtype}, {self.array.shape})"


@irdl_attr_definition
class DenseElementsAttr(Data[FrozenArray]):
    """The value of a constant tensor. Its element type and shape are those of the array; the op
    that holds it checks they match its result type."""

    name = "lamina.dense"

    @staticmethod
    def from_array(array: np.ndarray) -> DenseElementsAttr:
        return DenseElementsAttr(FrozenArray(np.asarray(array)))

    @property
    def array(self) -> np.ndarray:
        return self.data.array

    @classmethod
    def parse_parameter(cls, parser):  # xDSL's own parser is not used for lamina text
        raise TypeError("lamina.dense is parsed by lamina's parser, not xDSL's")

    def print_parameter(self, printer) -> None:
        printer.print_string(f"<{self.array.dtype} {list(self.array.shape)}>")
