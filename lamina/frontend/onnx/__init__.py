"""ONNX → graph dialect.

    from lamina.frontend.onnx import from_onnx
    module = from_onnx("model.onnx")        # or an onnx.ModelProto

Inputs with a `dim_param` become symbolic dims; initializers stay numpy-backed; shape
subgraphs fold at import time (symbolically where a dim is symbolic). A model using anything
lamina cannot import fails once, listing every unsupported op with its node names and opset.

`bind_inputs={"axes": np.array([1])}` specialises the model on input values known ahead of
time: each bound input becomes a constant and leaves the signature. lamina needs this for
inputs that decide shapes (a Reshape target, reduction axes, Slice starts, TopK's k, Resize
sizes ... fed as graph inputs instead of initializers); the refusal without it is an
`InputsMustBeConstant` error naming them.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Region

from lamina.frontend.onnx.context import ImportContext, Unsupported, Val, numpy_dtype_of
from lamina.frontend.onnx.loader import load_model_proto
from lamina.frontend.onnx.registry import CONVERTERS, supported_ops
from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import parse_dim
from lamina.ir.types import TensorType, element_type_of_numpy
from lamina.ir.verify import verify_op_tree

INPUT_NAMES_ATTR = "lamina.input_names"
OUTPUT_NAMES_ATTR = "lamina.output_names"


def op_histogram(model) -> Counter:
    proto = load_model_proto(model)
    return Counter(n.op_type for n in proto.graph.node)


def _symbol_name(param: str, taken: dict[str, str]) -> str:
    if param not in taken:
        base = re.sub(r"[^A-Za-z0-9_]", "_", param) or "d"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "d_" + base
        name, k = base, 1
        while name in taken.values():
            name, k = f"{base}_{k}", k + 1
        taken[param] = name
    return taken[param]


def _input_type(value_info: onnx.ValueInfoProto, symbols: dict[str, str], anonymous: list[int]) -> TensorType:
    t = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type"):
        raise Unsupported(f"input '{value_info.name}' is not a tensor")
    dtype = numpy_dtype_of(t.elem_type)
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(parse_dim(_symbol_name(d.dim_param, symbols)))
        else:
            anonymous[0] += 1
            dims.append(parse_dim(_symbol_name(f"?{anonymous[0]}", symbols)))
    return TensorType.of(dims, element_type_of_numpy(dtype))


def _sanitize(name: str, used: set[str]) -> str | None:
    base = re.sub(r"[^A-Za-z0-9_$.]", "_", name)
    if not base or not (base[0].isalpha() or base[0] == "_") or base in used:
        return None
    used.add(base)
    return base


def _attribute(a: onnx.AttributeProto):
    value = helper.get_attribute_value(a)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode("utf-8", "replace") for v in value]
    return value


@dataclass
class InputsMustBeConstant(LaminaError):
    """The model is importable once `inputs` are bound to values (`bind_inputs`)."""

    inputs: tuple[str, ...] = ()


def _bound_value(info: onnx.ValueInfoProto, value) -> np.ndarray:
    """A bound input's value in the input's declared element type, checked against its shape."""
    dtype = numpy_dtype_of(info.type.tensor_type.elem_type)
    array = np.asarray(value)
    converted = array.astype(dtype)
    if not np.array_equal(converted, array):
        raise LaminaError(f"bind_inputs: the value for '{info.name}' does not fit its element type {dtype}")
    declared = [d.dim_value if d.HasField("dim_value") else None for d in info.type.tensor_type.shape.dim]
    if info.type.tensor_type.HasField("shape") and (
        len(declared) != converted.ndim or any(d is not None and d != s for d, s in zip(declared, converted.shape))
    ):
        shown = ["?" if d is None else d for d in declared]
        raise LaminaError(f"bind_inputs: the value for '{info.name}' has shape {list(converted.shape)}, the input is declared {shown}")
    return converted


def default_opset(model: onnx.ModelProto) -> int:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 1


def from_onnx(model_or_path, name: str = "main", bind_inputs: Mapping[str, object] | None = None) -> ModuleOp:
    model = load_model_proto(model_or_path)
    bind_inputs = dict(bind_inputs or {})
    opset = default_opset(model)
    graph = model.graph
    supported = supported_ops()
    missing: dict[str, list[str]] = defaultdict(list)
    for node in graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in supported:
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            missing[key].append(node.name or node.output[0])
    if missing:
        lines = [f"  {op} (opset {opset}): {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}" for op, names in sorted(missing.items())]
        raise LaminaError(f"the model uses {len(missing)} op type(s) lamina does not support:\n" + "\n".join(lines))

    initializer_names = {t.name for t in graph.initializer}
    declared = [i for i in graph.input if i.name not in initializer_names]
    unknown = sorted(set(bind_inputs) - {i.name for i in declared})
    if unknown:
        raise LaminaError(f"bind_inputs names {', '.join(repr(n) for n in unknown)}, not an input of the model (inputs: {', '.join(i.name for i in declared)})")
    try:
        bound = {i.name: _bound_value(i, bind_inputs[i.name]) for i in declared if i.name in bind_inputs}
    except Unsupported as e:
        raise LaminaError(f"bind_inputs: {e}") from None
    inputs = [i for i in declared if i.name not in bound]
    symbols: dict[str, str] = {}
    anonymous = [0]
    try:
        arg_types = [_input_type(i, symbols, anonymous) for i in inputs]
    except Unsupported as e:
        raise LaminaError(f"cannot import the model's inputs: {e}") from None
    block = Block(arg_types=arg_types)
    ctx = ImportContext(block, opset, [i.name for i in inputs])
    used_names: set[str] = set()
    for info, arg in zip(inputs, block.args):
        hint = _sanitize(info.name, used_names)
        if hint:
            arg.name_hint = hint
        ctx.values[info.name] = Val(ssa=arg)
    for t in graph.initializer:
        try:
            numpy_dtype_of(t.data_type)
        except Unsupported as e:
            raise LaminaError(f"initializer '{t.name}' has an unsupported {e}") from None
        ctx.values[t.name] = Val(const=numpy_helper.to_array(t))
    for input_name, value in bound.items():
        ctx.values[input_name] = Val(const=value)

    problems: list[str] = []
    wanted_constant: set[str] = set()
    for node in graph.node:
        ctx.node = node
        attrs = {a.name: _attribute(a) for a in node.attribute}
        ins = [ctx.get(n) if n else None for n in node.input]
        try:
            results = CONVERTERS[node.op_type](ctx, ins, attrs)
        except Unsupported as e:
            problems.append(f"  node '{node.name or node.output[0]}' ({node.op_type}, opset {opset}): {e}")
            wanted_constant.update(e.constant_inputs)
            for o in node.output:
                ctx.values[o] = Val(const=np.zeros(0, np.float32))
            continue
        for out_name, v in zip(node.output, results):
            if out_name:
                ctx.values[out_name] = v
                if v.ssa is not None and not v.ssa.name_hint:
                    hint = _sanitize(out_name, used_names)
                    if hint:
                        v.ssa.name_hint = hint
    if problems:
        message = "the model uses features lamina does not support:\n" + "\n".join(problems)
        if wanted_constant:
            raise InputsMustBeConstant(message, inputs=tuple(sorted(wanted_constant)))
        raise LaminaError(message)

    outputs = []
    for o in graph.output:
        v = ctx.values.get(o.name)
        if v is None:
            raise LaminaError(f"graph output '{o.name}' is not computed by any node")
        try:
            outputs.append(ctx.ssa(v))
        except Unsupported as e:
            raise LaminaError(f"graph output '{o.name}': {e}") from None
    block.add_op(func.ReturnOp(*outputs))
    fn = func.FuncOp(name, ([a.type for a in block.args], [o.type for o in outputs]), Region(block))
    fn.attributes[INPUT_NAMES_ATTR] = ArrayAttr([StringAttr(i.name) for i in inputs])
    fn.attributes[OUTPUT_NAMES_ATTR] = ArrayAttr([StringAttr(o.name) for o in graph.output])
    module = ModuleOp([fn])
    try:
        verify_op_tree(module)
    except LaminaError as e:
        raise LaminaError(f"the model uses a feature lamina does not support: {e.message.splitlines()[0]}") from None
    return module


__all__ = ["InputsMustBeConstant", "from_onnx", "load_model_proto", "op_histogram", "supported_ops"]
