"""Dialects as tables: one `OpRow` per operation declares everything about it, and
`build_dialect` turns the table into xDSL operation classes with real verifiers.

A row carries: operands and results (kind and element-type constraint), attributes (kind,
default), traits, the type/shape rule, the fusion kind, the numpy reference, and for graph ops
the compute rule the loop lowering derives loops from. The parser, printer, verifier,
interpreter and lowering all read the row, so adding an op means adding its row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatAttr,
    IndexType,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    SymbolRefAttr,
    UnitAttr,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue, TypeAttribute
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.utils.exceptions import VerifyException

from lamina.ir.dense import DenseElementsAttr
from lamina.ir.diagnostics import LaminaError, SourceLocation
from lamina.ir.dims import parse_dim
from lamina.ir.types import BufferType, ShapedTypeMixin, dim_attr, dim_of_attr, TensorType, element_type_name, is_bool, is_float, is_integer


class ShapeError(ValueError):
    """Raised by a type/shape rule: the operands or attributes admit no result type."""


REQUIRED = object()  # sentinel: the attribute has no default and must be given

# ---------------------------------------------------------------- row parts

# Which values an operand or result may hold.
VALUE_KINDS = ("tensor", "buffer", "index", "scalar", "any")
# Which element types it may have. "same" = the element type of the op's first operand.
DTYPE_CLASSES = ("any", "float", "int", "bool", "numeric", "same")
FUSION_KINDS = ("elementwise", "broadcast", "injective", "reduction", "out-fusable", "opaque")
# "dims": a list of sizes, each an int or a symbolic expression such as "n" (shapes in attributes).
ATTR_KINDS = ("int", "float", "ints", "floats", "dims", "str", "bool", "type", "dense", "symbol", "unit")


@dataclass(frozen=True)
class Operand:
    name: str
    kind: str = "tensor"
    dtypes: str = "any"
    variadic: bool = False
    optional: bool = False

    def __post_init__(self) -> None:
        assert self.kind in VALUE_KINDS, self.kind
        assert self.dtypes in DTYPE_CLASSES, self.dtypes


@dataclass(frozen=True)
class Result:
    name: str
    kind: str = "tensor"
    dtypes: str = "any"
    variadic: bool = False

    def __post_init__(self) -> None:
        assert self.kind in VALUE_KINDS, self.kind


@dataclass(frozen=True)
class Attr:
    name: str
    kind: str
    default: Any = REQUIRED  # None: optional with no value
    choices: tuple[Any, ...] | None = None
    # Printed right after the op name instead of in the `{...}` dict (e.g. a constant's value).
    positional: bool = False
    doc: str = ""

    def __post_init__(self) -> None:
        assert self.kind in ATTR_KINDS, self.kind


@dataclass(frozen=True)
class Region:
    name: str
    doc: str = ""


# The context a type rule or a custom check sees.
@dataclass
class OpView:
    """Operand types, attribute values and (for checks) result types of one op, decoupled from
    xDSL so rules can run before an op exists (while building or parsing)."""

    name: str
    operand_types: list[Attribute]
    attrs: dict[str, Any]
    result_types: list[Attribute] = field(default_factory=list)


@dataclass(frozen=True)
class OpRow:
    name: str
    operands: tuple[Operand, ...] = ()
    results: tuple[Result, ...] = ()
    attrs: tuple[Attr, ...] = ()
    regions: tuple[Region, ...] = ()
    traits: tuple = ()
    # (view) -> result types; raises ShapeError.
    infer: Callable[[OpView], list[Attribute]] | None = None
    # (view) -> None; raises ShapeError for constraints the type rule does not cover.
    check: Callable[[OpView], None] | None = None
    fusion: str = "opaque"
    # numpy semantics: (*operand arrays, **attrs) -> array or tuple of arrays.
    reference: Callable[..., Any] | None = None
    # Index expression the loop lowering derives the loop nest from, e.g.
    # "out[i, j] += lhs[i, k] * rhs[k, j]".
    compute: str | None = None
    # Explicit lowering for ops whose semantics is not an index expression: a callable the
    # graph-to-loop lowering looks up by name.
    lowering: Callable[..., Any] | None = None
    summary: str = ""

    def __post_init__(self) -> None:
        assert self.fusion in FUSION_KINDS, self.fusion
        assert sum(o.variadic or o.optional for o in self.operands) <= 1, "one variadic operand at most"
        assert sum(r.variadic for r in self.results) <= 1, "one variadic result at most"

    def attr_spec(self, name: str) -> Attr | None:
        for a in self.attrs:
            if a.name == name:
                return a
        return None


# ---------------------------------------------------------------- attribute values


def attr_from_value(kind: str, value: Any) -> Attribute:
    """Python value -> xDSL attribute, for one attribute kind."""
    if kind == "int":
        return IntegerAttr(int(value), i64)
    if kind == "float":
        return FloatAttr(float(value), f64)
    if kind == "ints":
        return ArrayAttr([IntAttr(int(v)) for v in value])
    if kind == "floats":
        return ArrayAttr([FloatAttr(float(v), f64) for v in value])
    if kind == "dims":
        return ArrayAttr([dim_attr(parse_dim(v) if isinstance(v, str) else v) for v in value])
    if kind == "str":
        return StringAttr(str(value))
    if kind == "bool":
        return IntegerAttr(1 if value else 0, IntegerType(1))
    if kind == "type":
        if not isinstance(value, TypeAttribute):
            raise ShapeError(f"expected a type, got {value!r}")
        return value
    if kind == "dense":
        return value if isinstance(value, DenseElementsAttr) else DenseElementsAttr.from_array(np.asarray(value))
    if kind == "symbol":
        return SymbolRefAttr(str(value))
    if kind == "unit":
        return UnitAttr()
    raise AssertionError(kind)


def value_from_attr(kind: str, attr: Attribute) -> Any:
    """xDSL attribute -> Python value, for one attribute kind."""
    if kind == "int":
        return attr.value.data
    if kind == "float":
        return attr.value.data
    if kind == "ints":
        return tuple(a.data for a in attr.data)
    if kind == "floats":
        return tuple(a.value.data for a in attr.data)
    if kind == "dims":
        return tuple(dim_of_attr(a) for a in attr.data)
    if kind == "str":
        return attr.data
    if kind == "bool":
        return bool(attr.value.data)
    if kind == "type":
        return attr
    if kind == "dense":
        return attr.array
    if kind == "symbol":
        return attr.root_reference.data
    if kind == "unit":
        return True
    raise AssertionError(kind)


def _attr_constraint(kind: str):
    return {
        "int": IntegerAttr,
        "float": FloatAttr,
        "ints": ArrayAttr,
        "floats": ArrayAttr,
        "dims": ArrayAttr,
        "str": StringAttr,
        "bool": IntegerAttr,
        "type": AnyAttr(),
        "dense": DenseElementsAttr,
        "symbol": SymbolRefAttr,
        "unit": UnitAttr,
    }[kind]


def _value_constraint(kind: str):
    return {"tensor": TensorType, "buffer": BufferType, "index": IndexType}.get(kind, AnyAttr())


def _dtype_ok(dtypes: str, t: Attribute, first: Attribute | None) -> bool:
    elem = t.element_type if isinstance(t, ShapedTypeMixin) else t
    if dtypes == "any":
        return True
    if dtypes == "float":
        return is_float(elem)
    if dtypes == "int":
        return is_integer(elem)
    if dtypes == "bool":
        return is_bool(elem)
    if dtypes == "numeric":
        return is_float(elem) or is_integer(elem)
    if dtypes == "same":
        f = first.element_type if isinstance(first, ShapedTypeMixin) else first
        return elem == f
    raise AssertionError(dtypes)


_DTYPE_WORDS = {
    "float": "a floating-point",
    "int": "an integer",
    "bool": "a boolean (i1)",
    "numeric": "a numeric",
    "same": "the same element type as the first operand",
}


# ---------------------------------------------------------------- generated operation classes


class TableOp(IRDLOperation):
    """Base of every operation generated from a table row."""

    ROW: ClassVar[OpRow]

    # -- attribute access in Python terms

    def attr(self, name: str) -> Any:
        spec = self.ROW.attr_spec(name)
        if spec is None:
            raise KeyError(f"{self.name} has no attribute '{name}'")
        raw = self.properties.get(name)
        if raw is None:
            return None if spec.default is REQUIRED else spec.default
        return value_from_attr(spec.kind, raw)

    def attr_values(self) -> dict[str, Any]:
        return {a.name: self.attr(a.name) for a in self.ROW.attrs}

    def view(self) -> OpView:
        return OpView(
            self.name,
            [o.type for o in self.operands],
            self.attr_values(),
            [r.type for r in self.results],
        )

    # -- construction

    @classmethod
    def build(
        cls,
        operands: Sequence[SSAValue | Operation] = (),
        attrs: dict[str, Any] | None = None,
        result_types: Sequence[Attribute] | None = None,
        regions: Sequence[Any] = (),
        location: SourceLocation | None = None,
    ) -> TableOp:
        """Build the op from Python values; result types come from the row's type rule unless
        given. Errors are LaminaErrors located at `location`."""
        values = [SSAValue.get(o) for o in operands]
        try:
            props = properties_from_values(cls.ROW, attrs or {})
            if result_types is None:
                if cls.ROW.infer is None:
                    raise ShapeError(f"'{cls.name}' has no type rule: give its result types")
                view = OpView(cls.name, [v.type for v in values], _with_defaults(cls.ROW, attrs or {}))
                result_types = cls.ROW.infer(view)
        except ShapeError as e:
            raise LaminaError(f"'{cls.name}': {e}", location) from None
        op = cls.create(
            operands=values,
            result_types=list(result_types),
            properties=props,
            regions=list(regions),
        )
        if location is not None:
            op.location = location.to_attr()
        return op

    # -- verification from the row

    def verify_(self) -> None:
        row = self.ROW
        try:
            self._verify_values()
            for spec in row.attrs:
                val = self.attr(spec.name)
                if spec.choices is not None and val is not None and val not in spec.choices:
                    choices = ", ".join(repr(c) for c in spec.choices)
                    raise ShapeError(f"attribute '{spec.name}' must be one of {choices}, got {val!r}")
            view = self.view()
            if row.check is not None:
                row.check(view)
            if row.infer is not None:
                expected = row.infer(view)
                actual = view.result_types
                if len(expected) != len(actual):
                    raise ShapeError(f"expected {len(expected)} results, got {len(actual)}")
                for i, (e, a) in enumerate(zip(expected, actual)):
                    if e != a:
                        raise ShapeError(f"result #{i} has type {_type_str(a)} but the operands give {_type_str(e)}")
        except ShapeError as e:
            raise VerifyException(f"'{self.name}': {e}") from None

    def _verify_values(self) -> None:
        first = self.operands[0].type if self.operands else None
        groups = [(self.ROW.operands, list(self.operands), "operand"), (self.ROW.results, list(self.results), "result")]
        for specs, values, what in groups:
            for spec, vals in _match_specs(specs, values):
                for v in vals:
                    if not _dtype_ok(spec.dtypes, v.type, first):
                        raise ShapeError(
                            f"{what} '{spec.name}' must have {_DTYPE_WORDS[spec.dtypes]} element type, "
                            f"got {_type_str(v.type)}"
                        )


def _type_str(t: Attribute) -> str:
    return t.text() if isinstance(t, ShapedTypeMixin) else str(t)


def _match_specs(specs: Sequence[Operand | Result], values: list) -> list[tuple[Any, list]]:
    """Pair each spec with its values; a variadic or optional spec takes what the fixed ones
    leave."""
    fixed = sum(1 for s in specs if not (s.variadic or getattr(s, "optional", False)))
    spare = len(values) - fixed
    out, pos = [], 0
    for s in specs:
        n = spare if (s.variadic or getattr(s, "optional", False)) else 1
        out.append((s, values[pos : pos + n]))
        pos += n
    return out


def _with_defaults(row: OpRow, attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for spec in row.attrs:
        if spec.name in attrs and attrs[spec.name] is not None:
            v = attrs[spec.name]
            if spec.kind == "dense":
                v = v.array if isinstance(v, DenseElementsAttr) else np.asarray(v)
            elif spec.kind in ("ints", "floats"):
                v = tuple(v)
            elif spec.kind == "dims":
                v = tuple(parse_dim(d) if isinstance(d, str) else d for d in v)
            out[spec.name] = v
        else:
            out[spec.name] = None if spec.default is REQUIRED else spec.default
    return out


def properties_from_values(row: OpRow, attrs: dict[str, Any]) -> dict[str, Attribute]:
    """Check names and kinds of user-given attribute values and convert them; defaults are
    filled in so two ops that mean the same compare equal (CSE relies on it)."""
    unknown = set(attrs) - {a.name for a in row.attrs}
    if unknown:
        known = ", ".join(a.name for a in row.attrs) or "none"
        raise ShapeError(f"unknown attribute '{sorted(unknown)[0]}' (attributes: {known})")
    props: dict[str, Attribute] = {}
    for spec in row.attrs:
        value = attrs.get(spec.name)
        if value is None:
            if spec.default is REQUIRED:
                raise ShapeError(f"missing required attribute '{spec.name}'")
            value = spec.default
            if value is None:
                continue
        try:
            props[spec.name] = value if isinstance(value, Attribute) and spec.kind != "type" else attr_from_value(spec.kind, value)
        except (TypeError, ValueError) as e:
            raise ShapeError(f"attribute '{spec.name}' expects a {spec.kind} value: {e}") from None
    return props


def _class_name(dialect: str, name: str) -> str:
    return "".join(p.capitalize() for p in f"{dialect}_{name}".split("_")) + "Op"


def make_op_class(dialect: str, row: OpRow) -> type[TableOp]:
    ns: dict[str, Any] = {
        "name": f"{dialect}.{row.name}",
        "ROW": row,
        "__annotations__": {"ROW": ClassVar[OpRow]},
        "__doc__": row.summary or f"{dialect}.{row.name}",
        "__module__": f"lamina.dialects.{dialect}",
    }
    for o in row.operands:
        c = _value_constraint(o.kind)
        ns[o.name] = var_operand_def(c) if (o.variadic or o.optional) else operand_def(c)
    for r in row.results:
        c = _value_constraint(r.kind)
        ns[r.name] = var_result_def(c) if r.variadic else result_def(c)
    for a in row.attrs:
        c = _attr_constraint(a.kind)
        ns[a.name] = opt_prop_def(c) if a.default is None else prop_def(c)
    for reg in row.regions:
        ns[reg.name] = region_def("single_block")
    if row.traits:
        ns["traits"] = traits_def(*[t() if isinstance(t, type) else t for t in row.traits])
    cls = type(_class_name(dialect, row.name), (TableOp,), ns)
    return irdl_op_definition(cls)


@dataclass
class TableDialect:
    """A dialect built from its table: the xDSL Dialect plus name -> class lookups."""

    name: str
    rows: tuple[OpRow, ...]
    ops: dict[str, type[TableOp]]
    xdsl: Dialect

    def op(self, short_name: str) -> type[TableOp]:
        return self.ops[f"{self.name}.{short_name}"]

    def __getitem__(self, short_name: str) -> type[TableOp]:
        return self.op(short_name)


def build_dialect(name: str, rows: Sequence[OpRow], attributes: Sequence[type[Attribute]] = ()) -> TableDialect:
    seen: set[str] = set()
    for r in rows:
        assert r.name not in seen, f"{name}.{r.name} declared twice"
        seen.add(r.name)
    classes = [make_op_class(name, r) for r in rows]
    return TableDialect(
        name,
        tuple(rows),
        {c.name: c for c in classes},
        Dialect(name, classes, list(attributes)),
    )

