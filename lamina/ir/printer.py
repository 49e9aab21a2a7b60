"""The printer of lamina's text format (docs/text-format.md): custom forms from the op tables,
compact forms for func/arith/math, the MLIR generic form for everything else or on request, and
large constants as resource blobs."""

from __future__ import annotations

import json
import math

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FileLineColLoc,
    FloatAttr,
    FunctionType,
    IntAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    SymbolRefAttr,
    UnitAttr,
    VectorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina.ir.arith_predicates import CMPF_PREDICATES, CMPI_PREDICATES
from lamina.ir.dense import DenseElementsAttr
from lamina.ir.dims import dim_str
from lamina.ir.optable import REQUIRED, TableOp, value_from_attr
from lamina.ir.types import ShapedTypeMixin, element_type_name, type_text

INLINE_LIMIT = 16


def print_type(t: Attribute) -> str:
    if isinstance(t, VectorType):
        return f"vector<{'x'.join(str(d) for d in t.get_shape())}x{element_type_name(t.element_type)}>"
    if isinstance(t, FunctionType):
        ins = ", ".join(print_type(x) for x in t.inputs.data)
        outs = [print_type(x) for x in t.outputs.data]
        out = outs[0] if len(outs) == 1 and not isinstance(t.outputs.data[0], FunctionType) else f"({', '.join(outs)})"
        return f"({ins}) -> {out}"
    return type_text(t)


def scalar_text(x, dtype: np.dtype) -> str:
    if dtype == np.bool_:
        return "true" if x else "false"
    if np.issubdtype(dtype, np.integer):
        return str(int(x))
    f = float(x)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    # numpy prints the shortest text that reads back to the same value at this precision.
    text = str(dtype.type(x))
    if "e" not in text and "." not in text:
        text += ".0"
    return text


def float_text(f: float) -> str:
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return repr(float(f))


def nested_text(a: np.ndarray) -> str:
    if a.ndim == 0:
        return scalar_text(a[()], a.dtype)
    return "[" + ", ".join(nested_text(x) for x in a) + "]"


class Printer:
    def __init__(self, generic: bool = False, debuginfo: bool = False):
        self.generic = generic
        self.debuginfo = debuginfo
        self.lines: list[str] = []
        self.names: dict[SSAValue, str] = {}
        self.used_names: set[str] = set()
        self.counter = 0
        self.blobs: dict[str, np.ndarray] = {}
        self.blob_of: dict[int, str] = {}

    # ------------------------------------------------------------ names

    def name(self, v: SSAValue) -> str:
        if v not in self.names:
            hint = v.name_hint
            if hint and hint not in self.used_names:
                text = hint
            else:
                base = hint or ""
                while True:
                    text = f"{base}{'_' if base else ''}{self.counter}"
                    self.counter += 1
                    if text not in self.used_names:
                        break
            self.used_names.add(text)
            self.names[v] = "%" + text
        return self.names[v]

    def reset_names(self) -> None:
        self.names.clear()
        self.used_names.clear()
        self.counter = 0

    # ------------------------------------------------------------ module

    def module(self, module: ModuleOp) -> str:
        chunks = []
        for op in module.ops:
            self.lines = []
            if isinstance(op, func.FuncOp):
                self.reset_names()
            self.op(op, 0)
            chunks.append("\n".join(self.lines))
        text = "\n\n".join(chunks) + "\n"
        if self.blobs:
            text += "\n" + self.resources()
        return text

    def resources(self) -> str:
        entries = []
        for name, arr in self.blobs.items():
            header = int(arr.dtype.itemsize).to_bytes(4, "little")
            data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
            entries.append(f'      {name}: "0x{(header + data).hex().upper()}"')
        return "{-#\n  dialect_resources: {\n    builtin: {\n" + ",\n".join(entries) + "\n    }\n  }\n#-}\n"

    def line(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def location_suffix(self, op: Operation) -> str:
        if not self.debuginfo:
            return ""
        loc = op.location
        if isinstance(loc, FileLineColLoc):
            return f" loc({json.dumps(loc.filename.data)}:{loc.line.data}:{loc.column.data})"
        return ""

    # ------------------------------------------------------------ ops

    def op(self, op: Operation, depth: int) -> None:
        if self.generic:
            self.generic_op(op, depth)
        elif isinstance(op, func.FuncOp):
            self.func_op(op, depth)
        elif isinstance(op, func.ReturnOp):
            vals = ", ".join(self.name(o) for o in op.operands)
            types = ", ".join(print_type(o.type) for o in op.operands)
            self.line(depth, f"func.return{' ' + vals + ' : ' + types if vals else ''}{self.location_suffix(op)}")
        elif isinstance(op, TableOp):
            self.table_op(op, depth)
        elif op.name.split(".")[0] in ("arith", "math") and self.arith_printable(op):
            self.arith_op(op, depth)
        elif isinstance(op, ModuleOp):
            self.line(depth, "builtin.module {")
            for inner in op.ops:
                self.op(inner, depth + 1)
            self.line(depth, "}")
        else:
            self.generic_op(op, depth)

    def results_prefix(self, op: Operation) -> str:
        if not op.results:
            return ""
        return ", ".join(self.name(r) for r in op.results) + " = "

    def func_op(self, op: func.FuncOp, depth: int) -> None:
        block = op.body.block
        args = ", ".join(f"{self.name(a)}: {print_type(a.type)}" for a in block.args)
        outs = op.function_type.outputs.data
        ret = ""
        if len(outs) == 1:
            ret = f" -> {print_type(outs[0])}"
        elif outs:
            ret = f" -> ({', '.join(print_type(t) for t in outs)})"
        vis = f"{op.sym_visibility.data} " if op.sym_visibility else ""
        extra = {k: v for k, v in op.attributes.items() if k not in ("sym_name", "function_type", "sym_visibility")}
        attrs = f" attributes {{{self.xdsl_attr_dict(extra)}}}" if extra else ""
        self.line(depth, f"func.func {vis}@{op.sym_name.data}({args}){ret}{attrs} {{")
        for inner in block.ops:
            self.op(inner, depth + 1)
        self.line(depth, "}" + self.location_suffix(op))

    def table_op(self, op: TableOp, depth: int) -> None:
        row = op.ROW
        text = self.results_prefix(op) + op.name
        parts = []
        positional = None
        for spec in row.attrs:
            raw = op.properties.get(spec.name)
            if raw is None:
                continue
            value = value_from_attr(spec.kind, raw)
            if spec.positional:
                positional = self.attr_value_text(spec.kind, value, op)
                continue
            if spec.default is not None and _equal_default(value, spec.default):
                continue
            parts.append(f"{spec.name} = {self.attr_value_text(spec.kind, value, op)}" if spec.kind != "unit" else spec.name)
        if positional is not None:
            text += " " + positional + ("," if op.operands else "")
        if op.operands:
            text += " " + ", ".join(self.name(o) for o in op.operands)
        if parts:
            text += " {" + ", ".join(parts) + "}"
        if op.regions:
            head = text
            for region in op.regions:
                block = region.block
                args = ", ".join(f"{self.name(a)}: {print_type(a.type)}" for a in block.args)
                self.line(depth, f"{head} ({args}) {{")
                for inner in block.ops:
                    self.op(inner, depth + 1)
                head = "}"
            tail = "}"
            if op.results:
                tail += " : " + ", ".join(print_type(r.type) for r in op.results)
            self.line(depth, tail + self.location_suffix(op))
            return
        if op.results:
            text += " : " + ", ".join(print_type(r.type) for r in op.results)
        self.line(depth, text + self.location_suffix(op))

    def attr_value_text(self, kind: str, value, op: Operation) -> str:
        if kind == "int":
            return str(value)
        if kind == "float":
            return float_text(value)
        if kind == "ints":
            return "[" + ", ".join(str(v) for v in value) + "]"
        if kind == "floats":
            return "[" + ", ".join(float_text(v) for v in value) + "]"
        if kind == "dims":
            return "[" + ", ".join(dim_str(v) for v in value) + "]"
        if kind == "str":
            return json.dumps(value)
        if kind == "bool":
            return "true" if value else "false"
        if kind == "type":
            return print_type(value)
        if kind == "symbol":
            return "@" + value
        if kind == "unit":
            return "unit"
        if kind == "dense":
            return self.dense_text(value, op)
        raise ValueError(kind)

    def dense_text(self, arr: np.ndarray, op: Operation) -> str:
        if arr.size > 1 and np.all(arr == arr.flat[0]) and not (np.issubdtype(arr.dtype, np.floating) and np.isnan(arr.flat[0])):
            return f"dense<{scalar_text(arr.flat[0], arr.dtype)}>"
        if arr.size <= INLINE_LIMIT:
            return f"dense<{nested_text(arr)}>"
        key = id(arr)
        name = self.blob_of.get(key)
        if name is None:
            hint = op.results[0].name_hint if op is not None and op.results else None
            base = (hint or "blob").replace("-", "_")
            name = base
            k = 1
            while name in self.blobs:
                name = f"{base}_{k}"
                k += 1
            self.blobs[name] = arr
            self.blob_of[key] = name
        return f"dense_resource<{name}>"

    # ------------------------------------------------------------ arith / math

    def arith_printable(self, op: Operation) -> bool:
        if len(op.results) != 1 or op.regions or op.attributes:
            return False
        definition = op.get_irdl_definition()
        for key, prop in definition.properties.items():
            if key in ("predicate", "value"):
                continue
            default = getattr(prop, "default_value", None)
            if op.properties.get(key) is not None and op.properties.get(key) != default:
                return False
        if op.name == "arith.constant" and not isinstance(op.properties["value"], (IntegerAttr, FloatAttr)):
            return False
        return True

    def arith_op(self, op: Operation, depth: int) -> None:
        text = self.results_prefix(op) + op.name
        if op.name == "arith.constant":
            v = op.properties["value"]
            if isinstance(v, FloatAttr):
                text += " " + float_text(v.value.data)
            elif isinstance(v.type, IntegerType) and v.type.width.data == 1:
                text += " " + ("true" if v.value.data else "false")
            else:
                text += f" {v.value.data}"
        elif op.name in ("arith.cmpf", "arith.cmpi"):
            preds = CMPF_PREDICATES if op.name == "arith.cmpf" else CMPI_PREDICATES
            text += f" {preds[op.properties['predicate'].value.data]},"
        if op.operands:
            text += " " + ", ".join(self.name(o) for o in op.operands)
        text += " : " + print_type(op.results[0].type)
        self.line(depth, text + self.location_suffix(op))

    # ------------------------------------------------------------ generic form

    def generic_op(self, op: Operation, depth: int) -> None:
        text = self.results_prefix(op) + json.dumps(op.name) + "(" + ", ".join(self.name(o) for o in op.operands) + ")"
        if op.properties:
            text += " <{" + self.generic_props(op) + "}>"
        if op.regions:
            self.line(depth, text + " ({")
            for k, region in enumerate(op.regions):
                if k:
                    self.line(depth, "}, {")
                for block in region.blocks:
                    self.block_label(block, depth)
                    for inner in block.ops:
                        self.op(inner, depth + 1)
            text = "})"
        if op.attributes:
            text += " {" + self.xdsl_attr_dict(op.attributes) + "}"
        ins = ", ".join(print_type(o.type) for o in op.operands)
        outs = [print_type(r.type) for r in op.results]
        out = outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ")"
        self.line(depth, f"{text} : ({ins}) -> {out}{self.location_suffix(op)}")

    def block_label(self, block: Block, depth: int) -> None:
        args = ", ".join(f"{self.name(a)}: {print_type(a.type)}" for a in block.args)
        self.line(depth, f"^bb0({args}):" if block.args else "^bb0:")

    def generic_props(self, op: Operation) -> str:
        if isinstance(op, TableOp):
            parts = []
            for spec in op.ROW.attrs:
                raw = op.properties.get(spec.name)
                if raw is None:
                    continue
                value = value_from_attr(spec.kind, raw)
                if spec.kind == "int":
                    parts.append(f"{spec.name} = {value} : i64")
                elif spec.kind == "unit":
                    parts.append(spec.name)
                else:
                    parts.append(f"{spec.name} = {self.attr_value_text(spec.kind, value, op)}")
            return ", ".join(parts)
        return self.xdsl_attr_dict(op.properties)

    def xdsl_attr_dict(self, attrs: dict[str, Attribute]) -> str:
        return ", ".join(f"{k} = {self.xdsl_attr(v)}" if not isinstance(v, UnitAttr) else k for k, v in attrs.items())

    def xdsl_attr(self, a: Attribute) -> str:
        if isinstance(a, StringAttr):
            return json.dumps(a.data)
        if isinstance(a, IntegerAttr):
            if isinstance(a.type, IntegerType) and a.type.width.data == 1:
                return "true" if a.value.data else "false"
            return f"{a.value.data} : {print_type(a.type)}"
        if isinstance(a, FloatAttr):
            return f"{float_text(a.value.data)} : {print_type(a.type)}"
        if isinstance(a, ArrayAttr):
            return "[" + ", ".join(self.xdsl_attr(x) for x in a.data) + "]"
        if isinstance(a, SymbolRefAttr):
            return "@" + a.root_reference.data
        if isinstance(a, IntAttr):
            return str(a.data)
        if isinstance(a, DictionaryAttr):
            return "{" + self.xdsl_attr_dict(dict(a.data)) + "}"
        if isinstance(a, DenseElementsAttr):
            return self.dense_text(a.array, None)  # type: ignore[arg-type]
        try:
            return print_type(a)
        except ValueError:
            pass
        from io import StringIO

        from xdsl.printer import Printer as XPrinter

        out = StringIO()
        XPrinter(stream=out).print_attribute(a)
        return out.getvalue()


def _equal_default(value, default) -> bool:
    if default is REQUIRED:
        return False
    if isinstance(value, tuple):
        return tuple(value) == tuple(default)
    return value == default


def print_module(module: ModuleOp, generic: bool = False, debuginfo: bool = False) -> str:
    return Printer(generic, debuginfo).module(module)


def print_op(op: Operation, generic: bool = False, debuginfo: bool = False) -> str:
    p = Printer(generic, debuginfo)
    p.lines = []
    p.op(op, 0)
    text = "\n".join(p.lines) + "\n"
    if p.blobs:
        text += p.resources()
    return text
