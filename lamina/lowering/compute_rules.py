"""The compute-rule language of graph rows: index expressions in the style of MLIR's OpDSL.

    out[..., i, j] += lhs[..., i, k] * rhs[..., k, j]
    m[i, 0] max= x[i, j]; out[i, j] = exp(x[i, j] - m[i, 0])
    out[n, c, y, x] max= pad(x[n, c, y*2 + ky - 1, x*2 + kx - 1], -inf) where ky < 3, kx < 3

A rule is statements separated by `;` or newlines. Each writes one access with `=` or a
reduction (`+=`, `*=`, `max=`, `min=`); index variables are the names that are neither buffers
nor attributes, and a variable on the right but not on the left is reduced. `...` stands for the
trailing variables of the written access (right-aligned, numpy broadcasting), `where v < extent`
gives a variable an extent no access implies. Functions: exp log sqrt rsqrt tanh erf sin cos
floor ceil round abs sign pow max min select cast not and or xor, plus `pad(access, value)` (the
value where the access falls outside its buffer), `valid(access)` (whether it does not) and
`dim(buffer, axis)` (a size).

This module only parses; lamina.lowering.rule_lowering turns statements into loop nests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lamina.ir.diagnostics import LaminaError

REDUCTIONS = ("+=", "*=", "max=", "min=")
ASSIGNMENTS = ("=", *REDUCTIONS)
FUNCTIONS = {
    # name: number of arguments
    "exp": 1, "log": 1, "sqrt": 1, "rsqrt": 1, "tanh": 1, "erf": 1, "sin": 1, "cos": 1,
    "floor": 1, "ceil": 1, "round": 1, "abs": 1, "sign": 1, "not": 1, "cast": 1,
    "pow": 2, "max": 2, "min": 2, "and": 2, "or": 2, "xor": 2,
    "select": 3, "pad": 2, "valid": 1, "dim": 2,
}  # fmt: skip
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


class RuleError(LaminaError):
    """A compute rule that does not parse (a bug in a table row, reported with the rule text)."""


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Num:
    value: float | int


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class EllipsisIndex:
    pass


@dataclass(frozen=True)
class Access:
    buffer: str
    indices: tuple  # of expressions and EllipsisIndex


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * / % and the comparisons
    lhs: object
    rhs: object


@dataclass(frozen=True)
class Neg:
    operand: object


@dataclass
class Statement:
    target: Access
    op: str
    value: object
    bounds: dict[str, object] = field(default_factory=dict)
    text: str = ""

    @property
    def is_reduction(self) -> bool:
        return self.op in REDUCTIONS


# ---------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.\d*(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)|(?P<assign>max=|min=|\+=|\*=)"
    r"|(?P<op>\.\.\.|==|!=|<=|>=|[-+*/%<>()\[\],=])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise RuleError(f"compute rule '{text}': unexpected character at column {pos + 1}")
        out.append(m.group(m.lastgroup))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            want = f"'{expected}'" if expected else "more input"
            raise RuleError(f"compute rule '{self.text}': expected {want}, got {tok!r}")
        self.pos += 1
        return tok

    def statement(self) -> Statement:
        target = self.primary()
        if not isinstance(target, Access):
            raise RuleError(f"compute rule '{self.text}': a statement must write an access such as out[i]")
        op = self.take()
        if op not in ASSIGNMENTS:
            raise RuleError(f"compute rule '{self.text}': expected one of {' '.join(ASSIGNMENTS)}, got '{op}'")
        value = self.expr()
        bounds = {}
        if self.peek() == "where":
            self.take()
            while True:
                var = self.take()
                self.take("<")
                bounds[var] = self.additive()
                if self.peek() != ",":
                    break
                self.take()
        if self.peek() is not None:
            raise RuleError(f"compute rule '{self.text}': unexpected '{self.peek()}'")
        return Statement(target, op, value, bounds, self.text)

    def expr(self):
        lhs = self.additive()
        if self.peek() in COMPARISONS:
            op = self.take()
            return BinOp(op, lhs, self.additive())
        return lhs

    def additive(self):
        lhs = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            lhs = BinOp(op, lhs, self.term())
        return lhs

    def term(self):
        lhs = self.unary()
        while self.peek() in ("*", "/", "%"):
            op = self.take()
            lhs = BinOp(op, lhs, self.unary())
        return lhs

    def unary(self):
        if self.peek() == "-":
            self.take()
            return Neg(self.unary())
        return self.primary()

    def primary(self):
        tok = self.take()
        if tok == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if tok[0].isdigit():
            return Num(float(tok) if any(c in tok for c in ".eE") else int(tok))
        if tok == "inf":
            return Num(float("inf"))
        if not (tok[0].isalpha() or tok[0] == "_"):
            raise RuleError(f"compute rule '{self.text}': unexpected '{tok}'")
        if self.peek() == "[":
            self.take()
            indices = []
            while self.peek() != "]":
                if self.peek() == "...":
                    self.take()
                    indices.append(EllipsisIndex())
                else:
                    indices.append(self.expr())
                if self.peek() != "]":
                    self.take(",")
            self.take("]")
            return Access(tok, tuple(indices))
        if self.peek() == "(" and tok in FUNCTIONS:
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.expr())
                if self.peek() != ")":
                    self.take(",")
            self.take(")")
            if len(args) != FUNCTIONS[tok]:
                raise RuleError(f"compute rule '{self.text}': {tok} takes {FUNCTIONS[tok]} arguments, got {len(args)}")
            return Call(tok, tuple(args))
        return Name(tok)


def parse_rules(text: str) -> list[Statement]:
    """Parse every statement of a rule; statements are separated by `;` or newlines."""
    parts = [p.strip() for p in re.split(r"[;\n]", text)]
    statements = [_Parser(p).statement() for p in parts if p]
    if not statements:
        raise RuleError("empty compute rule")
    return statements
