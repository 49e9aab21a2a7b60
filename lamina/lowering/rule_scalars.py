"""Scalar code for one compute-rule statement inside a `loop.block` body: index arithmetic,
loads (clamped or guarded for `pad`/`valid`), arith/math for the expression, and the reduction
identities. Index math, loads and pure arithmetic are each emitted once per block and shared by
the statements of one nest (lamina.lowering.rule_lowering)."""

from __future__ import annotations

import math as pymath
from typing import TYPE_CHECKING

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Attribute, SSAValue

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import Dim
from lamina.ir.types import f32, f64, i1, i64, is_bool, is_float, is_integer, is_unsigned
from lamina.lowering.compute_rules import Access, BinOp, Call, Name, Neg, Num, Statement
from lamina.lowering.loop_builder import INDEX, LoopBuilder

if TYPE_CHECKING:
    from lamina.lowering.rule_lowering import RuleScope

Literal = int | float | bool
Value = SSAValue | Literal


def is_var(e, scope: RuleScope) -> bool:
    return isinstance(e, Name) and e.id not in scope.attrs and e.id not in scope.buffers and e.id not in scope.temps


def dim_of(call: Call, stmt: Statement, scope: RuleScope) -> Dim:
    buf, axis = call.args
    if not isinstance(buf, Name) or not isinstance(axis, Num):
        raise scope.fail(stmt, "dim() takes a buffer name and an axis number")
    value = scope.buffers.get(buf.id) or scope.temps.get(buf.id)
    if value is None:
        raise scope.fail(stmt, f"dim() of unknown buffer '{buf.id}'")
    return value.type.shape[int(axis.value)]


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
        t = join_types(ta, tb)
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
            return self.b.size(dim_of(e, self.stmt, self.scope))
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
            if is_var(i, self.scope) and d == 1 and self.extents.get(i.id, 1) != 1:
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
            if is_var(e, self.scope) or isinstance(e, Num):
                clamped.append(i)
                continue
            size = self.b.size(d)
            zero, last = self.b.index(0), self.arith("-", size, self.b.index(1))
            ok = self.b.add(arith.AndIOp(self.compare(">=", i, zero), self.compare("<", i, size))).result
            inside = ok if inside is None else self.b.add(arith.AndIOp(inside, ok)).result
            clamped.append(self.arith("min", self.arith("max", i, zero), last))
        return (self.b.load(buf, clamped) if load else None), inside


def join_types(a: Attribute | None, b: Attribute | None) -> Attribute:
    """The type two operands meet at: floats over integers over index, the wider of a kind."""
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
