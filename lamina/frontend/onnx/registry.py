"""ONNX op type → converter. A converter gets the import context, the node's inputs (Val or
None for an omitted optional input) and its attributes as Python values, and returns one Val
per output. Register with `@converts("Relu", "LeakyRelu")`."""

from __future__ import annotations

from collections.abc import Callable

from lamina.frontend.onnx.context import ImportContext, Val

Converter = Callable[[ImportContext, list, dict], list[Val]]
CONVERTERS: dict[str, Converter] = {}


def converts(*op_types: str):
    def register(fn: Converter) -> Converter:
        for t in op_types:
            CONVERTERS[t] = fn
        return fn

    return register


def supported_ops() -> set[str]:
    from lamina.frontend.onnx import (  # noqa: F401 - registration
        ops_conv_transpose,
        ops_einsum,
        ops_elementwise,
        ops_nn,
        ops_reduce,
        ops_resize,
        ops_scatter_gather,
        ops_tensor,
    )

    return set(CONVERTERS)
