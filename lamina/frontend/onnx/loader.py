"""Reading an ONNX file safely: malformed or truncated files and external data that points
outside the model's directory are clear errors, never tracebacks or reads elsewhere."""

from __future__ import annotations

import os

import onnx
from google.protobuf.message import DecodeError
from onnx import external_data_helper

from lamina.ir.diagnostics import LaminaError


def _external_tensors(model: onnx.ModelProto):
    yield from external_data_helper._get_all_tensors(model)


def check_external_locations(model: onnx.ModelProto, base_dir: str) -> None:
    root = os.path.realpath(base_dir)
    for tensor in _external_tensors(model):
        if not external_data_helper.uses_external_data(tensor):
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        target = os.path.realpath(os.path.join(root, location))
        if os.path.isabs(location) or os.path.commonpath([root, target]) != root:
            raise LaminaError(f"initializer '{tensor.name}' points its external data at '{location}', outside the model's directory: refused")
        if not os.path.isfile(target):
            raise LaminaError(f"initializer '{tensor.name}': external data file '{location}' not found beside the model")


def load_model_proto(path_or_model) -> onnx.ModelProto:
    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model
    path = os.fspath(path_or_model)
    if not os.path.isfile(path):
        raise LaminaError(f"no such model file: {path}")
    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError) as e:
        raise LaminaError(f"{path} is not a valid ONNX model (truncated or corrupted?): {e}") from None
    if not model.graph.node and not model.graph.output:
        raise LaminaError(f"{path} holds no ONNX graph (is it an ONNX model?)")
    base = os.path.dirname(os.path.abspath(path))
    check_external_locations(model, base)
    try:
        external_data_helper.load_external_data_for_model(model, base)
    except (OSError, ValueError) as e:
        raise LaminaError(f"{path}: cannot read external data: {e}") from None
    return model
