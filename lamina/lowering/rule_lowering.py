"""Compute-rule statements → loop nests. One statement becomes one perfect nest: a parallel loop
per variable of the written access, a reduction loop per variable only read, and inside them one
`loop.block` (spatial iterators S, reduce iterators R, an init region storing the reduction's
identity) whose body loads, computes with arith/math and stores.

Index maps come from shapes: a bare variable reading a size-1 axis of a larger iteration is a
broadcast and reads index 0; `...` stands for the trailing variables of the written access.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from xdsl.dialects.builtin import IndexType
from xdsl.ir import Attribute, SSAValue

from lamina.ir.diagnostics import LaminaError, SourceLocation
from lamina.ir.dims import Dim, dim_add, dim_mul
from lamina.ir.types import BufferType, i1, i64
from lamina.lowering.compute_rules import (
    Access,
    BinOp,
    Call,
    EllipsisIndex,
    Name,
    Neg,
    Num,
    Statement,
)
from lamina.lowering.loop_builder import INDEX, LoopBuilder
from lamina.lowering.rule_scalars import ScalarEmitter, dim_of, identity, is_var, join_types


@dataclass
class RuleScope:
    """What the names of a rule mean for one op: buffers (operands, results, temporaries) and
    attribute values."""

    buffers: dict[str, SSAValue]
    attrs: dict[str, object]
    # Element type of the op's first result: `cast` converts to the written buffer's type, and
    # untyped temporaries take this one.
    result_type: Attribute
    label: str
    location: SourceLocation | None = None
    # Temporaries are allocated at the function level, before any loop.
    alloc_at: Callable[[BufferType], SSAValue] | None = None
    temps: dict[str, SSAValue] = field(default_factory=dict)

    def fail(self, stmt: Statement, message: str) -> LaminaError:
        return LaminaError(f"lowering '{self.label}': {message} (rule: {stmt.text})", self.location)


# ---------------------------------------------------------------- variables and extents


def _expand(stmt: Statement, scope: RuleScope) -> tuple[Access, object, list[str]]:
    """The statement with every `...` replaced by variables; returns the target, the value and
    the ellipsis variable names."""
    target = stmt.target
    rank = _rank_of(stmt, scope, target)
    explicit = [i for i in target.indices if not isinstance(i, EllipsisIndex)]
    if len(explicit) == len(target.indices):
        ell: list[str] = []
    else:
        ell = [f"_i{k}" for k in range(rank - len(explicit))]

    def expand_access(a: Access) -> Access:
        if not any(isinstance(i, EllipsisIndex) for i in a.indices):
            return Access(a.buffer, tuple(expand(i) for i in a.indices))
        count = _rank_of(stmt, scope, a) - (len(a.indices) - 1)
        if count < 0 or count > len(ell):
            raise scope.fail(stmt, f"'...' of {a.buffer} covers {count} axes but the written access has {len(ell)}")
        names = ell[len(ell) - count :]
        out = []
        for i in a.indices:
            out.extend(Name(n) for n in names) if isinstance(i, EllipsisIndex) else out.append(expand(i))
        return Access(a.buffer, tuple(out))

    def expand(e):
        if isinstance(e, Access):
            return expand_access(e)
        if isinstance(e, Call):
            return Call(e.fn, tuple(expand(a) for a in e.args))
        if isinstance(e, BinOp):
            return BinOp(e.op, expand(e.lhs), expand(e.rhs))
        if isinstance(e, Neg):
            return Neg(expand(e.operand))
        return e

    return expand_access(target), expand(stmt.value), ell


def _rank_of(stmt: Statement, scope: RuleScope, a: Access) -> int:
    buf = scope.buffers.get(a.buffer) or scope.temps.get(a.buffer)
    if buf is None:
        # A temporary written here for the first time: its rank is what the access says.
        if any(isinstance(i, EllipsisIndex) for i in a.indices):
            raise scope.fail(stmt, f"temporary '{a.buffer}' must be written with explicit indices")
        return len(a.indices)
    return buf.type.rank


def _variables(e, scope: RuleScope, out: list[str]) -> None:
    if isinstance(e, Name):
        if is_var(e, scope) and e.id not in out:
            out.append(e.id)
    elif isinstance(e, Access):
        for i in e.indices:
            _variables(i, scope, out)
    elif isinstance(e, Call) and e.fn != "dim":  # dim(buffer, axis) names no variable
        for a in e.args:
            _variables(a, scope, out)
    elif isinstance(e, BinOp):
        _variables(e.lhs, scope, out)
        _variables(e.rhs, scope, out)
    elif isinstance(e, Neg):
        _variables(e.operand, scope, out)


def _accesses(e, out: list[Access]) -> None:
    if isinstance(e, Access):
        out.append(e)
        for i in e.indices:
            _accesses(i, out)
    elif isinstance(e, Call) and e.fn != "dim":
        for a in e.args:
            _accesses(a, out)
    elif isinstance(e, BinOp):
        _accesses(e.lhs, out)
        _accesses(e.rhs, out)
    elif isinstance(e, Neg):
        _accesses(e.operand, out)


def _static_dim(e, stmt: Statement, scope: RuleScope) -> Dim:
    """An extent written in a `where` clause: integers, dim(buffer, axis), + and *."""
    if isinstance(e, Num) and isinstance(e.value, int):
        return e.value
    if isinstance(e, Name) and isinstance(scope.attrs.get(e.id), int):
        return scope.attrs[e.id]
    if isinstance(e, Call) and e.fn == "dim":
        return dim_of(e, stmt, scope)
    if isinstance(e, BinOp) and e.op in "+*":
        a, b = _static_dim(e.lhs, stmt, scope), _static_dim(e.rhs, stmt, scope)
        return dim_add(a, b) if e.op == "+" else dim_mul(a, b)
    raise scope.fail(stmt, "an extent must be built from integers, dim(buffer, axis), + and *")


def _extents(stmt: Statement, scope: RuleScope, target: Access, value, variables: list[str]) -> dict[str, Dim]:
    extents: dict[str, Dim] = {v: _static_dim(e, stmt, scope) for v, e in stmt.bounds.items()}
    reads: list[Access] = []
    _accesses(value, reads)
    target_known = target.buffer in scope.buffers or target.buffer in scope.temps
    candidates = ([target] if target_known else []) + reads
    for a in candidates:
        shape = (scope.buffers.get(a.buffer) or scope.temps.get(a.buffer)).type.shape
        for i, d in zip(a.indices, shape):
            if is_var(i, scope) and i.id not in extents and d != 1:
                extents[i.id] = d
    for v in variables:
        extents.setdefault(v, 1)  # every access broadcasts it: a single iteration
    return extents


# ---------------------------------------------------------------- statements


def static_type(e, scope: RuleScope) -> Attribute | None:
    """The element type an expression computes in, None for untyped literals (they adopt their
    context's type)."""
    if isinstance(e, Access):
        buf = scope.buffers.get(e.buffer) or scope.temps.get(e.buffer)
        return buf.type.element_type if buf is not None else None
    if isinstance(e, Name):
        return None if e.id in scope.attrs else INDEX
    if isinstance(e, Neg):
        return static_type(e.operand, scope)
    if isinstance(e, BinOp):
        if e.op in ("==", "!=", "<", "<=", ">", ">="):
            return i1
        return join_types(static_type(e.lhs, scope), static_type(e.rhs, scope))
    if isinstance(e, Call):
        if e.fn in ("valid", "not", "and", "or", "xor"):
            return i1
        if e.fn == "dim":
            return INDEX
        if e.fn == "cast":
            return scope.result_type
        if e.fn == "select":
            return join_types(static_type(e.args[1], scope), static_type(e.args[2], scope))
        if e.fn in ("max", "min", "pow"):
            return join_types(static_type(e.args[0], scope), static_type(e.args[1], scope))
        return static_type(e.args[0], scope)
    return None


@dataclass
class _Prepared:
    stmt: Statement
    target: Access
    value: object
    spatial: list[str]
    reduced: list[str]
    extents: dict[str, Dim]
    out_buf: SSAValue
    scatter: bool  # written at data-dependent indices


def _prepare(stmt: Statement, scope: RuleScope) -> _Prepared:
    target, value, _ = _expand(stmt, scope)
    if target.buffer not in scope.buffers and target.buffer not in scope.temps:
        _allocate_temporary(stmt, scope, target, value)
    spatial: list[str] = []
    for i in target.indices:
        _variables(i, scope, spatial)
    every = list(spatial)
    _variables(value, scope, every)
    reduced = [v for v in every if v not in spatial]
    if reduced and not stmt.is_reduction:
        raise scope.fail(stmt, f"variables {', '.join(reduced)} are read but not written: use a reduction (+=, max=, ...)")
    extents = _extents(stmt, scope, target, value, every)
    out_buf = scope.buffers.get(target.buffer) or scope.temps[target.buffer]
    nested: list[Access] = []
    for i in target.indices:
        _accesses(i, nested)
    return _Prepared(stmt, target, value, spatial, reduced, extents, out_buf, bool(nested))


def _affine_index(e, scope: RuleScope) -> tuple[int, dict[str, int]] | None:
    """An index expression as (constant, {variable: coefficient}); None when not affine."""
    if isinstance(e, Num):
        return (e.value, {}) if isinstance(e.value, int) else None
    if isinstance(e, Name):
        if is_var(e, scope):
            return 0, {e.id: 1}
        v = scope.attrs.get(e.id)
        return (v, {}) if isinstance(v, int) and not isinstance(v, bool) else None
    if isinstance(e, Neg):
        inner = _affine_index(e.operand, scope)
        return None if inner is None else (-inner[0], {k: -c for k, c in inner[1].items()})
    if isinstance(e, BinOp) and e.op in "+-*":
        a, b = _affine_index(e.lhs, scope), _affine_index(e.rhs, scope)
        if a is None or b is None:
            return None
        if e.op == "*":
            if a[1] and b[1]:
                return None
            (k, _), (const, terms) = (a, b) if not a[1] else (b, a)
            return const * k, {v: c * k for v, c in terms.items()}
        sign = 1 if e.op == "+" else -1
        terms = dict(a[1])
        for v, c in b[1].items():
            terms[v] = terms.get(v, 0) + sign * c
        return a[0] + sign * b[0], {v: c for v, c in terms.items() if c}
    return None


def _never_meet(a: Access, b: Access, scope: RuleScope) -> bool:
    """No iteration of one access writes an element an iteration of the other writes: at some
    index the two have the same variable terms and constants those terms cannot bridge
    (`out[0, p]` / `out[1, p]`, `y[2*t]` / `y[2*t + 1]`)."""
    for ia, ib in zip(a.indices, b.indices):
        fa, fb = _affine_index(ia, scope), _affine_index(ib, scope)
        if fa is None or fb is None or fa[1] != fb[1]:
            continue
        step = pymath.gcd(*fa[1].values()) if fa[1] else 0
        gap = fa[0] - fb[0]
        if gap != 0 if step == 0 else gap % step != 0:
            return True
    return False


def _reads(p: _Prepared) -> set[str]:
    found: list[Access] = []
    _accesses(p.value, found)
    return {a.buffer for a in found}


def _shares_nest(group: list[_Prepared], p: _Prepared, scope: RuleScope) -> bool:
    """Whether `p` may run in the nest of `group`, interleaved iteration by iteration: the same
    spatial iteration space, no reduction or scatter, and writes to the one buffer of the group
    at elements no other statement writes or reads."""
    first = group[0]
    if any(q.reduced or q.scatter or q.stmt.is_reduction for q in (first, p)):
        return False
    if p.target.buffer != first.target.buffer or p.target.buffer not in scope.buffers:
        return False
    if p.spatial != first.spatial or any(p.extents[v] != first.extents[v] for v in p.spatial):
        return False
    # The members after the first were checked as they joined: they all write first's buffer.
    if p.target.buffer in _reads(p) or p.target.buffer in _reads(first):
        return False
    return all(_never_meet(p.target, q.target, scope) for q in group)


def lower_statements(b: LoopBuilder, statements: list[Statement], scope: RuleScope, next_label: Callable[[], str]) -> None:
    """Statements in order, one nest each, except that consecutive statements writing disjoint
    parts of one buffer over one iteration space share a nest (the 16 positions of a Winograd
    transform): their common loads and index math are emitted once and the threads fork once."""
    group: list[_Prepared] = []
    for stmt in statements:
        prepared = _prepare(stmt, scope)
        if group and _shares_nest(group, prepared, scope):
            group.append(prepared)
            continue
        if group:
            _emit_nest(b, group, scope, next_label())
        group = [prepared]
    if group:
        _emit_nest(b, group, scope, next_label())


def lower_statement(b: LoopBuilder, stmt: Statement, scope: RuleScope, label: str) -> None:
    _emit_nest(b, [_prepare(stmt, scope)], scope, label)


def _emit_nest(b: LoopBuilder, group: list[_Prepared], scope: RuleScope, label: str) -> None:
    first = group[0]
    names = first.spatial + first.reduced
    extents = first.extents
    # A write at data-dependent indices (a scatter) may hit one element from several
    # iterations: its loops run in order, never across threads or vector lanes.
    spatial_kind = "serial" if first.scatter else "parallel"
    # Bounds are defined before the nest so every loop of it sees them (no re-materialization
    # per iteration of an outer loop).
    zero = b.index(0)
    uppers = [b.size(extents[v]) for v in names]
    with ExitStack() as nest:
        loop_vars = [
            nest.enter_context(b.loop(zero, upper, spatial_kind if v in first.spatial else "reduction", v.lstrip("_")))
            for v, upper in zip(names, uppers)
        ]
        kinds = "S" * len(first.spatial) + "R" * len(first.reduced)
        init, body = b.block(label, loop_vars, kinds, [extents[v] for v in names])
        elem = first.out_buf.type.element_type
        if first.stmt.is_reduction:
            with b.at(init):
                em = ScalarEmitter(b, first.stmt, scope, dict(zip(names, init.args)), extents, elem)
                b.store(em.materialize(identity(first.stmt.op, elem), elem), first.out_buf, em.indices(first.target))
        b.finish(init)
        with b.at(body):
            shared_index: dict[tuple, SSAValue] = {}
            shared_loads: dict[tuple, SSAValue] = {}
            shared_arith: dict[tuple, SSAValue] = {}
            for p in group:
                elem = p.out_buf.type.element_type
                em = ScalarEmitter(b, p.stmt, scope, dict(zip(names, body.args)), extents, elem)
                em.index_cache, em.load_cache, em.arith_cache = shared_index, shared_loads, shared_arith
                result = em.value(p.value, elem)
                where = em.indices(p.target)
                if p.stmt.is_reduction:
                    acc = b.load(p.out_buf, where)
                    combine = {"+=": "+", "*=": "*", "max=": "max", "min=": "min"}[p.stmt.op]
                    result = em.arith(combine, acc, em.materialize(result, elem))
                b.store(em.materialize(result, elem), p.out_buf, where)
        b.finish(body)


def _allocate_temporary(stmt: Statement, scope: RuleScope, target: Access, value) -> None:
    shape: list[Dim] = []
    every: list[str] = []
    _variables(value, scope, every)
    extents = _extents(stmt, scope, target, value, every + [i.id for i in target.indices if is_var(i, scope)])
    for i in target.indices:
        if is_var(i, scope):
            shape.append(extents[i.id])
        elif isinstance(i, Num) and i.value == 0:
            shape.append(1)
        else:
            raise scope.fail(stmt, f"temporary '{target.buffer}' must be written at plain variables or 0")
    elem = static_type(value, scope)
    if elem is None or isinstance(elem, IndexType):
        elem = scope.result_type if elem is None else i64
    t = BufferType.of(shape, elem)
    scope.temps[target.buffer] = scope.alloc_at(t)
