"""Parse tree → xDSL operations. Everything op-specific (names, arity, attributes, types) is
checked here from the op tables, each error located at the token it is about."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from lark import Token, Tree
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    SymbolRefAttr,
    UnitAttr,
    VectorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.registry import all_ops, table_dialects
from lamina.ir.arith_predicates import CMPF_PREDICATES, CMPI_PREDICATES
from lamina.ir.dense import DenseElementsAttr
from lamina.ir.diagnostics import LaminaError, SourceLocation
from lamina.ir.dims import SymDim, dim_add, dim_mul, dim_sub, is_static
from lamina.ir.optable import REQUIRED, OpRow, ShapeError, TableOp, properties_from_values
from lamina.ir.types import ShapedTypeMixin, is_float, numpy_dtype, type_text
from lamina.parser import values as lit

XDSL_CUSTOM_DIALECTS = ("arith", "math")


@dataclass
class Value:
    """An attribute value as written, before it is given a kind: tag in int float name dim str
    list dense resource symbol opaque type unit."""

    tag: str
    data: Any
    token: Token | None = None


class Scope:
    def __init__(self, parent: Scope | None = None):
        self.parent = parent
        self.names: dict[str, SSAValue] = {}

    def lookup(self, name: str) -> SSAValue | None:
        s: Scope | None = self
        while s is not None:
            if name in s.names:
                return s.names[name]
            s = s.parent
        return None


class Builder:
    def __init__(self, filename: str, first_line: int):
        self.filename = filename
        self.first_line = first_line
        self.resources: dict[str, tuple[bytes, int]] = {}
        self.resource_token: Token | None = None
        self.ops = all_ops()
        self.tables = table_dialects()

    # ------------------------------------------------------------ locations and errors

    def loc(self, item: Token | Tree) -> SourceLocation:
        if isinstance(item, Tree):
            line, col = item.meta.line, item.meta.column
        else:
            line, col = item.line, item.column
        return SourceLocation(self.filename, line + self.first_line - 1, col)

    def error(self, item: Token | Tree, message: str) -> LaminaError:
        return LaminaError(message, self.loc(item))

    # ------------------------------------------------------------ module

    def module(self, tree: Tree) -> ModuleOp:
        items = tree.children
        for item in items:
            if isinstance(item, Token) and item.type == "RESOURCES":
                self.read_resources(item)
        ops: list[Operation] = []
        top = Scope()
        for item in items:
            if isinstance(item, Tree):
                if item.data == "module_op" and not ops and len([i for i in items if isinstance(i, Tree)]) == 1:
                    body = next(c for c in item.children if isinstance(c, Tree) and c.data == "body")
                    ops.extend(self.operation(c, top) for c in body.children)
                    continue
                ops.append(self.operation(item, top))
        return ModuleOp(ops)

    def read_resources(self, token: Token) -> None:
        text = str(token)
        try:
            entries = lit.resource_section(text)
        except lit.LiteralError as e:
            before = text[: e.offset]
            newlines = before.count("\n")
            column = e.offset - before.rfind("\n") if newlines else token.column + e.offset
            loc = SourceLocation(self.filename, token.line + newlines + self.first_line - 1, column)
            raise LaminaError(str(e), loc) from None
        self.resources.update(entries)
        self.resource_token = token

    # ------------------------------------------------------------ operations

    def operation(self, node: Tree, scope: Scope) -> Operation:
        try:
            return self.dispatch_operation(node, scope)
        except VerifyException as e:
            # xDSL checks attribute parameters as they are constructed (an integer out of its
            # type's range, ...): report those at the statement instead of as a traceback.
            raise self.error(node, str(e).splitlines()[0]) from None

    def dispatch_operation(self, node: Tree, scope: Scope) -> Operation:
        kind = node.data
        if kind == "func_op":
            return self.func_op(node, scope)
        if kind == "custom_op":
            return self.custom_op(node, scope)
        if kind == "generic_op":
            return self.generic_op(node, scope)
        if kind == "module_op":
            raise self.error(node, "a builtin.module may only wrap the whole file")
        raise self.error(node, f"unexpected {kind}")

    def set_location(self, op: Operation, node: Tree, loc_token: Token | None) -> None:
        if loc_token is not None:
            text = str(loc_token)[len('loc("') :]
            file_part, rest = text.rsplit('":', 1)
            line, col = rest.rstrip(")").split(":")
            op.location = SourceLocation(json.loads('"' + file_part + '"'), int(line), int(col)).to_attr()
        else:
            op.location = self.loc(node).to_attr()

    def func_op(self, node: Tree, scope: Scope) -> Operation:
        _kw, visibility, name, *rest = node.children
        args = [c for c in rest if isinstance(c, Tree) and c.data == "func_arg"]
        results = next((c for c in rest if isinstance(c, Tree) and c.data == "func_results"), None)
        body = next(c for c in rest if isinstance(c, Tree) and c.data == "body")
        loc_token = rest[-1] if isinstance(rest[-1], Token) and rest[-1].type == "LOC" else None
        inner = Scope()  # functions are isolated from above
        arg_types = [self.type(a.children[1]) for a in args]
        block = Block(arg_types=arg_types)
        for a, v in zip(args, block.args):
            self.define(inner, a.children[0], v)
        out_types = [self.type(t) for t in results.children if t is not None] if results is not None else []
        for child in body.children:
            block.add_op(self.operation(child, inner))
        fn = func.FuncOp(str(name)[1:], (arg_types, out_types), Region(block), visibility=str(visibility) if visibility else None)
        attr_dict = next((c for c in rest if isinstance(c, Tree) and c.data == "attr_dict"), None)
        for key, value, token in self.attr_entries(attr_dict):
            fn.attributes[key] = self.xdsl_attr(value, token)
        self.set_location(fn, node, loc_token)
        last = block.last_op
        if not isinstance(last, func.ReturnOp):
            raise self.error(node, f"@{str(name)[1:]} must end with func.return")
        got = [o.type for o in last.operands]
        if got != out_types:
            raise LaminaError(
                f"func.return gives ({', '.join(map(type_text, got))}) but @{str(name)[1:]} returns ({', '.join(map(type_text, out_types))})",
                self.loc_of(last),
            )
        return fn

    def loc_of(self, op: Operation) -> SourceLocation | None:
        from lamina.ir.diagnostics import location_of

        return location_of(op)

    def define(self, scope: Scope, token: Token, value: SSAValue) -> None:
        name = str(token)
        if scope.lookup(name) is not None:
            raise self.error(token, f"'{name}' is already defined")
        scope.names[name] = value
        hint = name[1:]
        if not hint[0].isdigit() and SSAValue.is_valid_name(hint):
            value.name_hint = hint

    def use(self, scope: Scope, token: Token) -> SSAValue:
        v = scope.lookup(str(token))
        if v is None:
            raise self.error(token, f"undefined value '{token}'")
        return v

    def lookup_op(self, token: Token) -> type[Operation]:
        name = str(token).strip('"')
        cls = self.ops.get(name)
        if cls is None:
            dialect = name.split(".", 1)[0]
            known_dialects = set(self.tables) | {n.split(".", 1)[0] for n in self.ops}
            if dialect not in known_dialects:
                raise self.error(token, f"unknown dialect '{dialect}' in '{name}'")
            raise self.error(token, f"unknown op '{name}' (lamina-opt --list-ops {dialect} lists them)")
        return cls

    def custom_op(self, node: Tree, scope: Scope) -> Operation:
        results, name, positional, operands, attr_dict, *rest = node.children
        regions = [c for c in rest if isinstance(c, Tree) and c.data == "region"]
        type_list = next((c for c in rest if isinstance(c, Tree) and c.data == "type_list"), None)
        loc_token = rest[-1] if rest and isinstance(rest[-1], Token) else None
        cls = self.lookup_op(name)
        operand_values = [self.use(scope, t) for t in operands.children] if operands is not None else []
        declared = [self.type(t) for t in type_list.children] if type_list is not None else None
        if issubclass(cls, TableOp):
            op = self.table_op(cls, node, name, positional, operand_values, attr_dict, regions, declared, scope)
        elif cls is func.ReturnOp:
            if positional is not None or attr_dict is not None or regions:
                raise self.error(name, "func.return takes only operands and their types")
            if declared is not None and declared != [v.type for v in operand_values]:
                raise self.error(name, "the types after ':' must be the types of the returned values")
            op = func.ReturnOp(*operand_values)
        elif name.split(".", 1)[0] in XDSL_CUSTOM_DIALECTS:
            op = self.xdsl_op(cls, node, name, positional, operand_values, attr_dict, regions, declared)
        else:
            raise self.error(name, f"'{name}' has no custom form here: write it in the generic form")
        self.bind_results(op, results, name, scope)
        self.set_location(op, node, loc_token)
        return op

    def bind_results(self, op: Operation, results: Tree | None, name: Token, scope: Scope) -> None:
        names = list(results.children) if results is not None else []
        if len(names) != len(op.results):
            raise self.error(
                names[0] if names else name,
                f"'{op.name}' has {len(op.results)} result{'s' if len(op.results) != 1 else ''} but {len(names)} "
                f"name{'s are' if len(names) != 1 else ' is'} bound",
            )
        for token, value in zip(names, op.results):
            self.define(scope, token, value)

    def regions(self, region_nodes: list[Tree], scope: Scope) -> list[Region]:
        out = []
        for r in region_nodes:
            *args, body = r.children
            args = [a for a in args if a is not None]
            inner = Scope(scope)
            block = Block(arg_types=[self.type(a.children[1]) for a in args])
            for a, v in zip(args, block.args):
                self.define(inner, a.children[0], v)
            for child in body.children:
                block.add_op(self.operation(child, inner))
            out.append(Region(block))
        return out

    # ------------------------------------------------------------ table ops

    def check_arity(self, row: OpRow, name: Token, count: int) -> None:
        fixed = sum(1 for o in row.operands if not (o.variadic or o.optional))
        variadic = any(o.variadic for o in row.operands)
        optional = any(o.optional for o in row.operands)
        full = f"{name}"
        if variadic:
            if count < fixed:
                raise self.error(name, f"'{full}' expects at least {fixed} operands, got {count}")
        elif optional:
            if not fixed <= count <= fixed + 1:
                raise self.error(name, f"'{full}' expects {fixed} or {fixed + 1} operands, got {count}")
        elif count != fixed:
            raise self.error(name, f"'{full}' expects {fixed} operand{'s' if fixed != 1 else ''}, got {count}")

    def table_op(self, cls, node, name, positional, operand_values, attr_dict, region_nodes, declared, scope) -> Operation:
        row: OpRow = cls.ROW
        self.check_arity(row, name, len(operand_values))
        entries = self.attr_entries(attr_dict)
        pos_spec = next((a for a in row.attrs if a.positional), None)
        if positional is not None:
            if pos_spec is None:
                raise self.error(positional.children[0], f"'{name}' takes no value before its operands")
            entries.insert(0, (pos_spec.name, self.positional_value(positional), positional.children[0]))
        attrs: dict[str, Any] = {}
        for key, value, token in entries:
            spec = row.attr_spec(key)
            if spec is None:
                known = ", ".join(a.name for a in row.attrs) or "none"
                raise self.error(token, f"unknown attribute '{key}' of '{name}' (attributes: {known})")
            if key in attrs:
                raise self.error(token, f"attribute '{key}' given twice")
            attrs[key] = self.attr_for_kind(spec.kind, value, token, key, declared, name)
        for spec in row.attrs:
            if spec.default is REQUIRED and spec.name not in attrs:
                raise self.error(name, f"'{name}' is missing required attribute '{spec.name}'")
        regions = self.regions(region_nodes, scope)
        if len(regions) != len(row.regions):
            raise self.error(name, f"'{name}' takes {len(row.regions)} region{'s' if len(row.regions) != 1 else ''}, got {len(regions)}")
        loc = self.loc(name)
        if declared is None:
            if row.infer is None:
                if row.results:
                    raise self.error(name, f"'{name}' needs its result type after ':'")
                declared_types: list[Attribute] | None = []
            else:
                declared_types = None
        else:
            declared_types = declared
        op = cls.build(operand_values, attrs, declared_types, regions, loc)
        if declared is not None and row.infer is not None:
            try:
                inferred = row.infer(op.view())
            except ShapeError as e:
                raise LaminaError(f"'{name}': {e}", loc) from None
            if list(inferred) != list(declared):
                raise LaminaError(
                    f"'{name}' declares result type{'s' if len(declared) != 1 else ''} "
                    f"{', '.join(map(type_text, declared))} but its operands give {', '.join(map(type_text, inferred))}",
                    loc,
                )
        return op

    def positional_value(self, positional: Tree) -> Value:
        tok = positional.children[0]
        if isinstance(tok, Tree):  # number
            return self.number(tok)
        return self.token_value(tok)

    def number(self, tree: Tree) -> Value:
        neg = tree.data == "neg_number"
        tok = next(c for c in tree.children if isinstance(c, Token) and c.type in ("INT", "FLOAT"))
        if tok.type == "INT":
            return Value("int", -int(tok) if neg else int(tok), tok)
        v = float(lit.scalar(str(tok)))
        return Value("float", -v if neg else v, tok)

    def token_value(self, tok: Token) -> Value:
        t = tok.type
        if t == "DENSE":
            return Value("dense", str(tok), tok)
        if t == "DENSE_RESOURCE":
            return Value("resource", str(tok)[len("dense_resource<") : -1], tok)
        if t == "STRING":
            return Value("str", json.loads(str(tok)), tok)
        if t == "SYMBOL":
            return Value("symbol", str(tok)[1:], tok)
        if t == "BARE_ID":
            return Value("name", str(tok), tok)
        if t == "INT":
            return Value("int", int(tok), tok)
        if t == "FLOAT":
            return Value("float", float(lit.scalar(str(tok))), tok)
        if t == "SHAPED_TYPE":
            return Value("type", self.type(tok), tok)
        if t == "HASH_ATTR":
            return Value("opaque", str(tok), tok)
        raise self.error(tok, f"unexpected '{tok}'")

    def attr_entries(self, attr_dict: Tree | None) -> list[tuple[str, Value, Token]]:
        if attr_dict is None:
            return []
        entries_tree = attr_dict.children[0] if attr_dict.data == "attr_dict" else attr_dict
        return self.entries(entries_tree)

    def entries(self, entries_tree: Tree) -> list[tuple[str, Value, Token]]:
        out = []
        for entry in entries_tree.children:
            if entry is None:
                continue
            key, value, typ = entry.children
            v = Value("unit", True, key) if value is None else self.value(value)
            if typ is not None:
                v = Value(v.tag, (v.data, self.type(typ)), v.token) if v.tag in ("int", "float", "dense", "name") else v
                v.tag = v.tag + ":typed"
            out.append((str(key), v, key))
        return out

    def value(self, node) -> Value:
        if isinstance(node, Token):
            return self.token_value(node)
        d = node.data
        ch = node.children
        if d == "int_value":
            return Value("int", int(ch[0]), ch[0])
        if d == "name_value":
            return Value("name", str(ch[0]), ch[0])
        if d == "float_value":
            return Value("float", float(lit.scalar(str(ch[0]))), ch[0])
        if d == "neg_float_value":
            return Value("float", -float(lit.scalar(str(ch[0]))), ch[0])
        if d == "string_value":
            return Value("str", json.loads(str(ch[0])), ch[0])
        if d == "list_value":
            items = [self.value(c) for c in ch if c is not None]
            return Value("list", items, items[0].token if items else None)
        if d in ("dense_value", "resource_value", "symbol_value", "opaque_value"):
            return self.token_value(ch[0])
        if d == "type_value":
            return Value("type", self.type(ch[0]), ch[0] if isinstance(ch[0], Token) else None)
        if d in ("dim_add", "dim_sub", "dim_mul", "dim_neg"):
            return self.dim_value(node)
        raise self.error(node, f"unexpected {d}")

    def dim_value(self, node) -> Value:
        def ev(n):
            if isinstance(n, Tree):
                if n.data == "int_value":
                    return int(n.children[0])
                if n.data == "name_value":
                    return SymDim.symbol(str(n.children[0]))
                if n.data == "dim_neg":
                    return dim_mul(-1, ev(n.children[0]))
                a, b = ev(n.children[0]), ev(n.children[1])
                return {"dim_add": dim_add, "dim_sub": dim_sub, "dim_mul": dim_mul}[n.data](a, b)
            raise self.error(n, "bad size expression")

        d = ev(node)
        first = node
        while isinstance(first, Tree):
            first = first.children[0]
        return Value("int" if is_static(d) else "dim", d, first)

    def attr_for_kind(self, kind: str, v: Value, token: Token, key: str, declared, opname) -> Any:
        tag = v.tag.removesuffix(":typed")
        data = v.data[0] if v.tag.endswith(":typed") else v.data

        def bad(expected: str) -> LaminaError:
            return self.error(v.token or token, f"attribute '{key}' expects {expected}, got {self.describe(tag, data)}")

        if kind == "int":
            if tag != "int":
                raise bad("an integer")
            return self.int64(data, v.token or token, key)
        if kind == "float":
            if tag not in ("int", "float"):
                raise bad("a number")
            return float(data)
        if kind == "bool":
            if tag == "name" and data in ("true", "false"):
                return data == "true"
            raise bad("true or false")
        if kind == "str":
            if tag != "str":
                raise bad("a string")
            return data
        if kind in ("ints", "floats", "dims"):
            if tag != "list":
                raise bad("a list")
            out = []
            for item in data:
                if kind == "ints" and item.tag == "int":
                    out.append(self.int64(item.data, item.token or token, key))
                elif kind == "floats" and item.tag in ("int", "float"):
                    out.append(float(item.data))
                elif kind == "dims" and item.tag in ("int", "dim"):
                    out.append(item.data)
                elif kind == "dims" and item.tag == "name":
                    out.append(SymDim.symbol(item.data))
                else:
                    raise self.error(item.token or token, f"attribute '{key}' expects a list of {kind[:-1] if kind != 'dims' else 'sizes'}, got {self.describe(item.tag, item.data)}")
            return out
        if kind == "type":
            if tag == "type":
                return data
            if tag == "name":
                try:
                    return lit.element_type(data)
                except lit.LiteralError as e:
                    raise self.error(v.token or token, str(e)) from None
            raise bad("a type")
        if kind == "symbol":
            if tag != "symbol":
                raise bad("a symbol (@name)")
            return data
        if kind == "unit":
            if tag == "unit" or (tag == "name" and data == "unit"):
                return True
            raise bad("no value (a unit attribute)")
        if kind == "dense":
            return self.dense(tag, data, v.token or token, declared, opname)
        raise bad(kind)

    def int64(self, value: int, token: Token, key: str) -> int:
        if not -(2**63) <= value < 2**63:
            raise self.error(token, f"attribute '{key}': {value} does not fit in 64 bits")
        return value

    def describe(self, tag: str, data: Any) -> str:
        return {
            "int": f"the integer {data}",
            "float": f"the number {data}",
            "str": f"the string {json.dumps(data)}",
            "name": f"'{data}'",
            "list": "a list",
            "dense": "a dense literal",
            "resource": "a resource",
            "symbol": f"@{data}",
            "type": "a type",
            "unit": "no value",
            "dim": f"the size {data}",
            "opaque": str(data),
        }.get(tag, tag)

    def dense(self, tag, data, token, declared, opname) -> np.ndarray:
        if not declared or len(declared) != 1 or not isinstance(declared[0], ShapedTypeMixin):
            raise self.error(token, f"'{opname}' needs its result type after ':' to read a constant")
        t = declared[0]
        if not t.is_static:
            raise self.error(token, "a constant needs a static shape")
        shape = tuple(t.shape)
        dtype = numpy_dtype(t.element_type)
        try:
            if tag == "dense":
                return lit.dense_array(lit.dense_literal(data), shape, dtype)
            if tag == "resource":
                if data not in self.resources:
                    raise self.error(token, f"unknown resource '{data}' (no such entry in the dialect_resources section)")
                raw, _ = self.resources[data]
                return lit.blob_array(raw, shape, dtype, data)
        except lit.LiteralError as e:
            raise self.error(token, str(e)) from None
        raise self.error(token, "expected dense<...> or dense_resource<...>")

    # ------------------------------------------------------------ xDSL arith / math in custom form

    def xdsl_op(self, cls, node, name, positional, operand_values, attr_dict, region_nodes, declared) -> Operation:
        opname = str(name)
        if region_nodes or attr_dict is not None:
            raise self.error(name, f"'{opname}' takes no attributes or regions in its custom form (use the generic form)")
        definition = cls.get_irdl_definition()
        if len(definition.results) and (declared is None or len(declared) != 1):
            raise self.error(name, f"'{opname}' needs its result type after ':'")
        props: dict[str, Attribute] = {}
        if opname == "arith.constant":
            if positional is None:
                raise self.error(name, "arith.constant needs a value")
            props["value"] = self.scalar_constant(self.positional_value(positional), declared[0], positional.children[0])
        elif opname in ("arith.cmpf", "arith.cmpi"):
            preds = CMPF_PREDICATES if opname == "arith.cmpf" else CMPI_PREDICATES
            pv = self.positional_value(positional) if positional is not None else None
            if pv is None or pv.tag != "name" or pv.data not in preds:
                raise self.error(positional.children[0] if positional is not None else name, f"'{opname}' needs a predicate: one of {', '.join(preds)}")
            props["predicate"] = IntegerAttr(preds.index(pv.data), i64)
        elif positional is not None:
            raise self.error(positional.children[0], f"'{opname}' takes no value before its operands")
        n_operands = len(definition.operands)
        if len(operand_values) != n_operands:
            raise self.error(name, f"'{opname}' expects {n_operands} operand{'s' if n_operands != 1 else ''}, got {len(operand_values)}")
        for key, prop in definition.properties.items():
            if key not in props and getattr(prop, "default_value", None) is not None:
                props[key] = prop.default_value
        result_types = list(declared or [])
        if opname in ("arith.cmpf", "arith.cmpi"):
            result_types = [self.comparison_result_type(declared[0], operand_values)]
        return cls.create(operands=operand_values, result_types=result_types, properties=props)

    @staticmethod
    def comparison_result_type(declared: Attribute, operand_values: list[SSAValue]) -> Attribute:
        # MLIR writes the operand type after ':' (`arith.cmpf olt, %a, %b : f32`); lamina prints the
        # i1 result type like every other compact form. Both read back to the same op.
        if operand_values and declared == operand_values[0].type and declared != IntegerType(1):
            if isinstance(declared, VectorType):
                return VectorType(IntegerType(1), declared.get_shape())
            return IntegerType(1)
        return declared

    def scalar_constant(self, v: Value, t: Attribute, token) -> Attribute:
        if isinstance(t, (IntegerType, IndexType)):
            if v.tag == "name" and v.data in ("true", "false"):
                return IntegerAttr(1 if v.data == "true" else 0, t)
            if v.tag != "int":
                raise self.error(token, f"an integer constant of {type_text(t)} needs an integer value")
            return IntegerAttr(v.data, t)
        if is_float(t):
            if v.tag not in ("int", "float"):
                raise self.error(token, "a float constant needs a number")
            return FloatAttr(float(v.data), t)
        raise self.error(token, f"arith.constant of {t} is not supported in the custom form")

    # ------------------------------------------------------------ generic form

    def generic_op(self, node: Tree, scope: Scope) -> Operation:
        results, name, operands, *rest = node.children
        cls = self.lookup_op(name)
        operand_values = [self.use(scope, t) for t in operands.children] if operands is not None else []
        props_entries: list = []
        attrs_entries: list = []
        region_nodes: list = []
        ftype = None
        loc_token = None
        i = 0
        while i < len(rest):
            c = rest[i]
            if isinstance(c, Token) and c.type == "PROPS_OPEN":
                props_entries = self.entries(rest[i + 1])
                i += 2
                continue
            if isinstance(c, Tree) and c.data == "generic_regions":
                region_nodes = c.children
            elif isinstance(c, Tree) and c.data == "attr_dict":
                attrs_entries = self.entries(c.children[0])
            elif isinstance(c, Tree) and c.data == "function_type":
                ftype = self.function_type(c)
            elif isinstance(c, Token) and c.type == "LOC":
                loc_token = c
            i += 1
        assert ftype is not None
        if [v.type for v in operand_values] != list(ftype.inputs.data):
            raise self.error(name, "the operand types in the function type do not match the operands")
        regions = []
        for r in region_nodes:
            label, *ops = [c for c in r.children]
            inner = Scope(scope) if cls is not func.FuncOp else Scope()
            block_args = []
            if label is not None:
                block_args = [a for a in label.children[1:] if a is not None]
            block = Block(arg_types=[self.type(a.children[1]) for a in block_args])
            for a, v in zip(block_args, block.args):
                self.define(inner, a.children[0], v)
            for child in ops:
                if child is not None:
                    block.add_op(self.operation(child, inner))
            regions.append(Region(block))
        out_types = list(ftype.outputs.data)
        if issubclass(cls, TableOp):
            row = cls.ROW
            attrs = {}
            for key, value, token in props_entries + attrs_entries:
                spec = row.attr_spec(key)
                if spec is None:
                    raise self.error(token, f"unknown attribute '{key}' of '{cls.name}'")
                attrs[key] = self.attr_for_kind(spec.kind, value, token, key, out_types, cls.name)
            try:
                props = properties_from_values(row, attrs)
            except ShapeError as e:
                raise self.error(name, f"'{cls.name}': {e}") from None
            op = cls.create(operands=operand_values, result_types=out_types, properties=props, regions=regions)
        else:
            props = {k: self.xdsl_attr(v, t) for k, v, t in props_entries}
            attributes = {k: self.xdsl_attr(v, t) for k, v, t in attrs_entries}
            op = cls.create(operands=operand_values, result_types=out_types, properties=props, attributes=attributes, regions=regions)
        self.bind_results(op, results, name, scope)
        self.set_location(op, node, loc_token)
        return op

    def xdsl_attr(self, v: Value, token: Token) -> Attribute:
        tag = v.tag
        if tag.endswith(":typed"):
            data, t = v.data
            tag = tag.removesuffix(":typed")
            if tag == "int":
                return IntegerAttr(data, t)
            if tag == "float":
                return FloatAttr(data, t)
            if tag == "name" and data in ("true", "false"):
                return IntegerAttr(1 if data == "true" else 0, t)
            raise self.error(token, f"cannot give a type to {self.describe(tag, data)}")
        if tag == "int":
            return IntegerAttr(v.data, i64)
        if tag == "float":
            return FloatAttr(v.data, f64)
        if tag == "str":
            return StringAttr(v.data)
        if tag == "list":
            return ArrayAttr([self.xdsl_attr(x, token) for x in v.data])
        if tag == "type":
            return v.data
        if tag == "symbol":
            return SymbolRefAttr(v.data)
        if tag == "unit" or (tag == "name" and v.data == "unit"):
            return UnitAttr()
        if tag == "name" and v.data in ("true", "false"):
            return IntegerAttr(1 if v.data == "true" else 0, IntegerType(1))
        if tag == "name":
            try:
                return lit.element_type(v.data)
            except lit.LiteralError as e:
                raise self.error(token, str(e)) from None
        if tag == "opaque":
            return self.opaque_attr(v.data, token)
        raise self.error(token, f"{self.describe(tag, v.data)} is not a valid attribute here")

    def opaque_attr(self, text: str, token: Token) -> Attribute:
        from xdsl.parser import Parser

        from lamina.dialects.registry import make_context

        try:
            return Parser(make_context(), text).parse_attribute()
        except Exception as e:  # xDSL reports its own parse errors as several exception types
            raise self.error(token, f"cannot read attribute {text}: {str(e).splitlines()[0]}") from None

    def function_type(self, node: Tree) -> FunctionType:
        arrow = next(i for i, c in enumerate(node.children) if isinstance(c, Token) and c.type == "ARROW")
        ins = [self.type(c) for c in node.children[:arrow] if c is not None]
        outs = [self.type(c) for c in node.children[arrow + 1 :] if c is not None]
        return FunctionType.from_lists(ins, outs)

    # ------------------------------------------------------------ types

    def type(self, node) -> Attribute:
        if isinstance(node, Tree):
            if node.data == "function_type":
                return self.function_type(node)
            raise self.error(node, "expected a type")
        try:
            if node.type == "SHAPED_TYPE":
                return lit.shaped_type(str(node))
            if node.type == "BARE_ID":
                return lit.element_type(str(node))
        except lit.LiteralError as e:
            raise self.error(node, str(e)) from None
        raise self.error(node, f"expected a type, got '{node}'")


__all__ = ["Builder"]
