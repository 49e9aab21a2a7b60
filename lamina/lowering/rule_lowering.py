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

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Attribute, SSAValue

from lamina.ir.diagnostics import LaminaError, SourceLocation
from lamina.ir.dims import Dim, dim_add, dim_mul
from lamina.ir.types import BufferType, f32, f64, i1, i64, is_bool, is_float, is_integer, is_unsigned
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

Literal = int | float | bool
Value = SSAValue | Literal


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


def _is_var(e, scope: RuleScope) -> bool:
    return isinstance(e, Name) and e.id not in scope.attrs and e.id not in scope.buffers and e.id not in scope.temps


def _variables(e, scope: RuleScope, out: list[str]) -> None:
    if isinstance(e, Name):
        if _is_var(e, scope) and e.id not in out:
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
        return _dim_of(e, stmt, scope)
    if isinstance(e, BinOp) and e.op in "+*":
        a, b = _static_dim(e.lhs, stmt, scope), _static_dim(e.rhs, stmt, scope)
        return dim_add(a, b) if e.op == "+" else dim_mul(a, b)
    raise scope.fail(stmt, "an extent must be built from integers, dim(buffer, axis), + and *")


def _dim_of(call: Call, stmt: Statement, scope: RuleScope) -> Dim:
    buf, axis = call.args
    if not isinstance(buf, Name) or not isinstance(axis, Num):
        raise scope.fail(stmt, "dim() takes a buffer name and an axis number")
    value = scope.buffers.get(buf.id) or scope.temps.get(buf.id)
    if value is None:
        raise scope.fail(stmt, f"dim() of unknown buffer '{buf.id}'")
    return value.type.shape[int(axis.value)]


def _extents(stmt: Statement, scope: RuleScope, target: Access, value, variables: list[str]) -> dict[str, Dim]:
    extents: dict[str, Dim] = {v: _static_dim(e, stmt, scope) for v, e in stmt.bounds.items()}
    reads: list[Access] = []
    _accesses(value, reads)
    target_known = target.buffer in scope.buffers or target.buffer in scope.temps
    candidates = ([target] if target_known else []) + reads
    for a in candidates:
        shape = (scope.buffers.get(a.buffer) or scope.temps.get(a.buffer)).type.shape
        for i, d in zip(a.indices, shape):
            if _is_var(i, scope) and i.id not in extents and d != 1:
                extents[i.id] = d
    for v in variables:
        extents.setdefault(v, 1)  # every access broadcasts it: a single iteration
    return extents


# ---------------------------------------------------------------- scalar code


class ScalarEmitter:
    """Emits arith/math for one statement's expression inside a block body."""

    def __init__(self, b: LoopBuilder, stmt: Statement, scope: RuleScope, env: dict[str, SSAValue], extents: dict[str, Dim], target_type: Attribute):
        self.b, self.stmt, self.scope, self.env, self.extents = b, stmt, scope, env, extents
        self.target_type = target_type
        self.index_cache: dict[tuple, SSAValue] = {}
        self.load_cache: dict[tuple, SSAValue] = {}
        self.arith_cache: dict[tuple, SSAValue] = {}

    def fail(self, message: str) -> LaminaError:
        return self.scope.fail(self.stmt, message)

    # -- conversions

    def materialize(self, v: Value, t: Attribute) -> SSAValue:
        if isinstance(v, SSAValue):
            return self.convert(v, t)
        if isinstance(t, IndexType):
            return self.b.index(int(v))
        return self.b.constant(v, t)

    def convert(self, v: SSAValue, t: Attribute) -> SSAValue:
        s = v.type
        if s == t:
            return v
        add = self.b.add
        if is_bool(t):
            zero = self.materialize(0, s)
            return self.compare("!=", v, zero)
        if isinstance(s, IndexType):
            if is_float(t):
                return add(arith.SIToFPOp(add(arith.IndexCastOp(v, i64)).result, t)).result
            if is_unsigned(t):  # index_cast takes signless integers only
                return self.convert(add(arith.IndexCastOp(v, i64)).result, t)
            return add(arith.IndexCastOp(v, t)).result
        if isinstance(t, IndexType):
            if is_float(s):
                v = add(arith.FPToSIOp(v, i64)).result
            elif is_bool(s) or is_unsigned(s):
                v = self.convert(v, i64)
            return add(arith.IndexCastOp(v, t)).result
        if is_float(s) and is_float(t):
            op = arith.ExtFOp if s.bitwidth < t.bitwidth else arith.TruncFOp
            return add(op(v, t)).result
        if is_float(s):
            return add((arith.FPToUIOp if is_unsigned(t) else arith.FPToSIOp)(v, t)).result
        if is_float(t):
            return add((arith.UIToFPOp if is_bool(s) or is_unsigned(s) else arith.SIToFPOp)(v, t)).result
        if s.width.data < t.width.data:
            return add((arith.ExtUIOp if is_bool(s) or is_unsigned(s) else arith.ExtSIOp)(v, t)).result
        if s.width.data == t.width.data:
            return add(arith.BitcastOp(v, t)).result  # i8 <-> ui8: the same bits
        return add(arith.TruncIOp(v, t)).result

    def unify(self, a: Value, b: Value, want: Attribute | None = None) -> tuple[Value, Value]:
        ta = a.type if isinstance(a, SSAValue) else None
        tb = b.type if isinstance(b, SSAValue) else None
        if ta is None and tb is None:
            if want is None:
                return a, b
            return self.materialize(a, want), self.materialize(b, want)
        t = _join(ta, tb)
        return self.materialize(a, t), self.materialize(b, t)

    # -- expressions

    def value(self, e, want: Attribute | None = None) -> Value:
        if isinstance(e, Num):
            return e.value
        if isinstance(e, Name):
            if e.id in self.scope.attrs:
                v = self.scope.attrs[e.id]
                if not isinstance(v, int | float | bool):
                    raise self.fail(f"attribute '{e.id}' is not a number")
                return v
            if e.id in self.env:
                return self.env[e.id]
            raise self.fail(f"'{e.id}' is not an index variable, buffer or attribute here")
        if isinstance(e, Access):
            return self.load(e)
        if isinstance(e, Neg | BinOp):
            # Pure arithmetic over loads that are themselves cached: computed once per block,
            # so statements sharing a subexpression (a Winograd transform's partial sums) share
            # its ops. Keyed by structure, as equal texts parse to distinct but equal trees.
            key = (e, want, id(self.b.insertion))
            cached = self.arith_cache.get(key)
            if cached is None:
                cached = self._arithmetic(e, want)
                if isinstance(cached, SSAValue):
                    self.arith_cache[key] = cached
            return cached
        if isinstance(e, Call):
            return self.call(e, want)
        raise self.fail(f"unexpected expression {e}")

    def _arithmetic(self, e: Neg | BinOp, want: Attribute | None) -> Value:
        if isinstance(e, Neg):
            x = self.value(e.operand, want)
            if not isinstance(x, SSAValue):
                return -x
            if is_float(x.type):
                return self.b.add(arith.NegfOp(x)).result
            return self.arith("-", self.materialize(0, x.type), x)
        a, b = self.value(e.lhs, want), self.value(e.rhs, want)
        if e.op in ("==", "!=", "<", "<=", ">", ">="):
            a, b = self.unify(a, b, want if want is not None and not is_bool(want) else f32)
            return self.compare(e.op, a, b)
        if not isinstance(a, SSAValue) and not isinstance(b, SSAValue):
            return _fold(e.op, a, b)
        a, b = self.unify(a, b)
        return self.arith(e.op, a, b)

    def index(self, e) -> SSAValue:
        # An index expression is pure: computed once per block it is used in. A statement's
        # accesses share most of theirs (x[n, 2*ty, 2*tx + 1, c] and x[n, 2*ty + 2, 2*tx, c]),
        # and every op emitted here is walked by each pass and verify after it.
        key = (e, id(self.b.insertion))
        cached = self.index_cache.get(key)
        if cached is None:
            cached = self.index_cache[key] = self.materialize(self.value(e, INDEX), INDEX)
        return cached

    def call(self, e: Call, want: Attribute | None) -> Value:
        fn, args = e.fn, e.args
        add = self.b.add
        if fn == "dim":
            return self.b.size(_dim_of(e, self.stmt, self.scope))
        if fn == "pad":
            access, fill = args
            loaded, inside = self.guarded_load(access)
            if inside is None:
                return loaded
            return add(arith.SelectOp(inside, loaded, self.materialize(self.value(fill, loaded.type), loaded.type))).result
        if fn == "valid":
            _, inside = self.guarded_load(args[0], load=False)
            return True if inside is None else inside
        if fn == "cast":
            return self.materialize(self.value(args[0], self.target_type), self.target_type)
        if fn == "select":
            c = self.materialize(self.value(args[0], i1), i1)
            a, b = self.unify(self.value(args[1], want), self.value(args[2], want), want or self.target_type)
            return add(arith.SelectOp(c, a, b)).result
        if fn in ("not", "and", "or", "xor"):
            vals = [self.materialize(self.value(a, i1), i1) for a in args]
            if fn == "not":
                return add(arith.XOrIOp(vals[0], self.materialize(True, i1))).result
            op = {"and": arith.AndIOp, "or": arith.OrIOp, "xor": arith.XOrIOp}[fn]
            return add(op(*vals)).result
        if fn in ("max", "min", "pow"):
            a, b = self.unify(self.value(args[0], want), self.value(args[1], want), want or self.target_type)
            return self.arith(fn, a, b)
        x = self.value(args[0], want)
        if not isinstance(x, SSAValue):
            x = self.materialize(x, want if want is not None and is_float(want) else self.target_type)
        if fn == "sign":
            zero = self.materialize(0, x.type)
            one, minus = self.materialize(1, x.type), self.materialize(-1, x.type)
            neg = add(arith.SelectOp(self.compare("<", x, zero), minus, x)).result
            return add(arith.SelectOp(self.compare(">", x, zero), one, neg)).result
        if fn == "abs":
            if is_unsigned(x.type):
                return x
            return add((math.AbsFOp if is_float(x.type) else math.AbsIOp)(x)).result
        ops = {
            "exp": math.ExpOp, "log": math.LogOp, "sqrt": math.SqrtOp, "rsqrt": math.RsqrtOp,
            "tanh": math.TanhOp, "erf": math.ErfOp, "sin": math.SinOp, "cos": math.CosOp,
            "floor": math.FloorOp, "ceil": math.CeilOp, "round": math.RoundEvenOp,
        }  # fmt: skip
        if not is_float(x.type):
            raise self.fail(f"{fn} needs a floating-point operand, got {x.type}")
        return add(ops[fn](x)).result

    def arith(self, op: str, a: SSAValue, b: SSAValue) -> SSAValue:
        t = a.type
        add = self.b.add
        if is_float(t):
            if op == "%":
                return self.float_remainder(a, b)
            cls = {"+": arith.AddfOp, "-": arith.SubfOp, "*": arith.MulfOp, "/": arith.DivfOp,
                   "max": arith.MaximumfOp, "min": arith.MinimumfOp, "pow": math.PowFOp}[op]  # fmt: skip
            return add(cls(a, b)).result
        if op == "pow":
            return add(math.IPowIOp(a, self.arith("max", b, self.materialize(0, t)))).result
        if isinstance(t, IndexType) and op in ("/", "%"):
            # Index arithmetic divides with floor semantics (windows and reflections go negative).
            q = add(arith.FloorDivSIOp(a, b)).result
            if op == "/":
                return q
            return add(arith.SubiOp(a, add(arith.MuliOp(q, b)).result)).result
        cls = {"+": arith.AddiOp, "-": arith.SubiOp, "*": arith.MuliOp, "/": arith.DivSIOp, "%": arith.RemSIOp,
               "max": arith.MaxSIOp, "min": arith.MinSIOp}[op]  # fmt: skip
        if is_unsigned(t):
            cls = {"/": arith.DivUIOp, "%": arith.RemUIOp, "max": arith.MaxUIOp, "min": arith.MinUIOp}.get(op, cls)
        if is_bool(t) and op in ("max", "min"):
            cls = arith.OrIOp if op == "max" else arith.AndIOp
        return add(cls(a, b)).result

    def float_remainder(self, a: SSAValue, b: SSAValue) -> SSAValue:
        """C fmod, a - trunc(a / b) * b (xDSL's arith has no remf), computed in f64 so the
        quotient of narrower floats truncates exactly. A finite a over an infinite b is a
        (the formula would give inf * 0 = NaN)."""
        t, wide = a.type, f64
        if t != wide:
            a, b = self.convert(a, wide), self.convert(b, wide)
        add = self.b.add
        q = add(math.TruncOp(add(arith.DivfOp(a, b)).result)).result
        r = add(arith.SubfOp(a, add(arith.MulfOp(q, b)).result)).result
        inf = self.materialize(float("inf"), wide)
        finite_a = add(arith.CmpfOp(add(math.AbsFOp(a)).result, inf, "olt")).result
        infinite_b = add(arith.CmpfOp(add(math.AbsFOp(b)).result, inf, "oeq")).result
        r = add(arith.SelectOp(add(arith.AndIOp(finite_a, infinite_b)).result, a, r)).result
        return self.convert(r, t)

    def compare(self, op: str, a: SSAValue, b: SSAValue) -> SSAValue:
        if is_float(a.type):
            pred = {"==": "oeq", "!=": "une", "<": "olt", "<=": "ole", ">": "ogt", ">=": "oge"}[op]
            return self.b.add(arith.CmpfOp(a, b, pred)).result
        pred = {"==": "eq", "!=": "ne", "<": "slt", "<=": "sle", ">": "sgt", ">=": "sge"}[op]
        if is_unsigned(a.type):
            pred = pred.replace("s", "u", 1) if pred[0] == "s" else pred
        return self.b.add(arith.CmpiOp(a, b, pred)).result

    # -- memory

    def buffer(self, name: str) -> SSAValue:
        buf = self.scope.buffers.get(name) or self.scope.temps.get(name)
        if buf is None:
            raise self.fail(f"unknown buffer '{name}'")
        return buf

    def indices(self, a: Access) -> list[SSAValue]:
        buf = self.buffer(a.buffer)
        if len(a.indices) != buf.type.rank:
            raise self.fail(f"{a.buffer} has rank {buf.type.rank} but is indexed with {len(a.indices)} indices")
        out = []
        for i, d in zip(a.indices, buf.type.shape):
            if _is_var(i, self.scope) and d == 1 and self.extents.get(i.id, 1) != 1:
                out.append(self.b.index(0))  # broadcast: a size-1 axis of a larger iteration
            else:
                out.append(self.index(i))
        return out

    def load(self, a: Access) -> SSAValue:
        # Loads repeat within a block only from buffers no statement of the block writes
        # before them (see _shares_nest), so equal indices load equal values.
        buffer, indices = self.buffer(a.buffer), self.indices(a)
        key = (id(buffer), tuple(id(i) for i in indices), id(self.b.insertion))
        cached = self.load_cache.get(key)
        if cached is None:
            cached = self.load_cache[key] = self.b.load(buffer, indices)
        return cached

    def guarded_load(self, a, load: bool = True) -> tuple[SSAValue | None, SSAValue | None]:
        """Load with every non-trivial index clamped into bounds; returns the value and the
        condition that the unclamped index was inside (None when it always is)."""
        if not isinstance(a, Access):
            raise self.fail("pad() and valid() take a buffer access")
        buf = self.buffer(a.buffer)
        idx = self.indices(a)
        inside = None
        clamped = []
        for i, e, d in zip(idx, a.indices, buf.type.shape):
            if _is_var(e, self.scope) or isinstance(e, Num):
                clamped.append(i)
                continue
            size = self.b.size(d)
            zero, last = self.b.index(0), self.arith("-", size, self.b.index(1))
            ok = self.b.add(arith.AndIOp(self.compare(">=", i, zero), self.compare("<", i, size))).result
            inside = ok if inside is None else self.b.add(arith.AndIOp(inside, ok)).result
            clamped.append(self.arith("min", self.arith("max", i, zero), last))
        return (self.b.load(buf, clamped) if load else None), inside


def _join(a: Attribute | None, b: Attribute | None) -> Attribute:
    if a is None or a == b:
        return b
    if b is None:
        return a
    rank = lambda t: (3, t.bitwidth) if is_float(t) else (2, t.width.data) if is_integer(t) and not isinstance(t, IndexType) else (1, 0) if isinstance(t, IndexType) else (0, 0)  # noqa: E731
    return max(a, b, key=rank)


def _fold(op: str, a: Literal, b: Literal) -> Literal:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b if isinstance(a, float) or isinstance(b, float) else a // b
    if op == "%":
        return a % b
    raise ValueError(op)


def identity(op: str, t: Attribute) -> Literal:
    """The value a reduction starts from."""
    if op == "+=":
        return 0
    if op == "*=":
        return 1
    if is_float(t):
        return -pymath.inf if op == "max=" else pymath.inf
    if is_bool(t):
        return op == "min="
    bits = t.width.data
    if is_unsigned(t):
        return 0 if op == "max=" else 2**bits - 1
    return -(2 ** (bits - 1)) if op == "max=" else 2 ** (bits - 1) - 1


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
        return _join(static_type(e.lhs, scope), static_type(e.rhs, scope))
    if isinstance(e, Call):
        if e.fn in ("valid", "not", "and", "or", "xor"):
            return i1
        if e.fn == "dim":
            return INDEX
        if e.fn == "cast":
            return scope.result_type
        if e.fn == "select":
            return _join(static_type(e.args[1], scope), static_type(e.args[2], scope))
        if e.fn in ("max", "min", "pow"):
            return _join(static_type(e.args[0], scope), static_type(e.args[1], scope))
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
        if _is_var(e, scope):
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
    extents = _extents(stmt, scope, target, value, every + [i.id for i in target.indices if _is_var(i, scope)])
    for i in target.indices:
        if _is_var(i, scope):
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
