"""`shape-infer`: recompute every graph op's result type from its row's shape rule, after the
function signature changed or when a result type is less precise than the rule can tell.

`bind="n=8,m=4"` specialises symbolic dims: the symbols are replaced by constants in the
signature and in size attributes (reshape's shape, ...) and every type that depends on them is
recomputed. A recomputed type may only refine the old one (a symbolic dim becoming a number);
anything else means the program was ill-typed, reported at the op.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from lamina.ir.diagnostics import LaminaError, error_at
from lamina.ir.dims import Dim, SymDim
from lamina.ir.optable import ShapeError, TableOp, attr_from_value
from lamina.ir.types import ShapedTypeMixin, type_text


def parse_bindings(text: str) -> dict[str, int]:
    env: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier() or not value.strip().isdigit():
            raise LaminaError(f"shape-infer: bind expects name=size pairs (sizes >= 0) separated by commas, got '{item}'")
        env[name.strip()] = int(value)
    return env


def substitute(d: Dim, env: dict[str, int]) -> Dim:
    if isinstance(d, int) or not env:
        return d
    terms: dict[tuple[str, ...], int] = {}
    for mono, coef in d.terms:
        rest = []
        for s in mono:
            if s in env:
                coef *= env[s]
            else:
                rest.append(s)
        key = tuple(rest)
        terms[key] = terms.get(key, 0) + coef
    return SymDim.from_terms(terms)


def substitute_type(t, env: dict[str, int]):
    if isinstance(t, ShapedTypeMixin) and not t.is_static:
        return type(t).of([substitute(d, env) for d in t.shape], t.element_type)
    return t


def refines(new, old, known: set[str]) -> bool:
    """Whether `new` says no less than `old`: a symbolic dim may become a number, and a dim
    written with symbols the signature does not define (an unknown size) may become anything."""
    if new == old:
        return True
    if not (isinstance(new, ShapedTypeMixin) and isinstance(old, ShapedTypeMixin)):
        return False
    if new.element_type != old.element_type or new.rank != old.rank:
        return False
    return all(a == b or (isinstance(b, SymDim) and (isinstance(a, int) or not dim_symbols(b) <= known)) for a, b in zip(new.shape, old.shape))


def dim_symbols(d: Dim) -> set[str]:
    return {s for mono, _ in d.terms for s in mono} if isinstance(d, SymDim) else set()


def symbols_of(t) -> set[str]:
    if not isinstance(t, ShapedTypeMixin):
        return set()
    return {s for d in t.shape for s in dim_symbols(d)}


@dataclass(frozen=True)
class ShapeInfer(ModulePass):
    """Recompute result types from the shape rules; bind="n=8" specialises symbols."""

    name = "shape-infer"
    bind: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        env = parse_bindings(self.bind)
        functions = [fn for fn in op.ops if isinstance(fn, func.FuncOp)]
        used = {s for fn in functions for t in fn.function_type.inputs.data for s in symbols_of(t)}
        if unknown := sorted(set(env) - used):
            raise LaminaError(f"shape-infer: bind names {', '.join(unknown)}, which no function signature uses")
        for fn in functions:
            self.function(fn, env)

    def function(self, fn: func.FuncOp, env: dict[str, int]) -> None:
        for arg in fn.body.block.args:
            if (t := substitute_type(arg.type, env)) != arg.type:
                Rewriter.replace_value_with_new_type(arg, t)
        known = {s for arg in fn.body.block.args for s in symbols_of(arg.type)}
        for inner in fn.body.block.walk():
            if not isinstance(inner, TableOp) or inner.ROW.infer is None:
                continue
            for spec in inner.ROW.attrs:
                if spec.kind == "dims" and env and inner.properties.get(spec.name) is not None:
                    dims = [substitute(d, env) for d in inner.attr(spec.name)]
                    inner.properties[spec.name] = attr_from_value("dims", dims)
            try:
                new_types = inner.ROW.infer(inner.view())
            except ShapeError as e:
                raise error_at(inner, f"'{inner.name}': {e}") from None
            for r, t in zip(list(inner.results), new_types):
                if r.type != t:
                    old = substitute_type(r.type, env)
                    if not refines(t, old, known):
                        raise error_at(inner, f"'{inner.name}': its operands now give {type_text(t)}, which does not refine {type_text(r.type)}")
                    Rewriter.replace_value_with_new_type(r, t)
        ret = fn.body.block.last_op
        outs = [o.type for o in ret.operands] if isinstance(ret, func.ReturnOp) else list(fn.function_type.outputs.data)
        fn.function_type = FunctionType.from_lists([a.type for a in fn.body.block.args], outs)

