"""Tensor dimensions: a static int or a symbolic polynomial over named sizes (`n`, `4*n`, `n*m+1`).

Shape rules only need products, sums and exact division (reshape's -1, flatten, concat), so a
polynomial with integer coefficients is enough; anything else (floor division of a symbol by a
stride, say) is refused by the rule that needs it, with a message naming the op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce

# A monomial is a sorted tuple of symbol names (repeats for powers); () is the constant term.
Monomial = tuple[str, ...]

_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DimError(ValueError):
    """A dimension expression that cannot be parsed or computed."""


@dataclass(frozen=True)
class SymDim:
    """A symbolic dimension: sum of coefficient * monomial terms, kept canonical (sorted, no zeros)."""

    terms: tuple[tuple[Monomial, int], ...]

    @staticmethod
    def symbol(name: str) -> SymDim:
        if not _SYMBOL.fullmatch(name):
            raise DimError(f"invalid dimension symbol '{name}'")
        return SymDim((((name,), 1),))

    @staticmethod
    def from_terms(terms: dict[Monomial, int]) -> Dim:
        kept = tuple(sorted((m, c) for m, c in terms.items() if c != 0))
        if not kept:
            return 0
        if len(kept) == 1 and kept[0][0] == ():
            return kept[0][1]
        return SymDim(kept)

    def as_symbol(self) -> str | None:
        """The name when this dim is a bare symbol such as `n`, else None."""
        if len(self.terms) == 1 and self.terms[0][1] == 1 and len(self.terms[0][0]) == 1:
            return self.terms[0][0][0]
        return None

    def symbols(self) -> set[str]:
        return {s for m, _ in self.terms for s in m}

    def __str__(self) -> str:
        parts = []
        # Highest-degree terms first reads naturally: "n*m+4*n+1".
        for mono, coef in sorted(self.terms, key=lambda t: (-len(t[0]), t[0])):
            body = "*".join(mono)
            if not body:
                text = str(abs(coef))
            elif abs(coef) == 1:
                text = body
            else:
                text = f"{abs(coef)}*{body}"
            sign = "-" if coef < 0 else "+"
            parts.append((sign, text))
        out = ("-" if parts[0][0] == "-" else "") + parts[0][1]
        for sign, text in parts[1:]:
            out += sign + text
        return out

    def __repr__(self) -> str:
        return f"SymDim({str(self)!r})"


Dim = int | SymDim


def _terms(d: Dim) -> dict[Monomial, int]:
    if isinstance(d, SymDim):
        return dict(d.terms)
    return {(): d} if d else {}


def dim_add(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    out = _terms(a)
    for m, c in _terms(b).items():
        out[m] = out.get(m, 0) + c
    return SymDim.from_terms(out)


def dim_sub(a: Dim, b: Dim) -> Dim:
    return dim_add(a, dim_mul(b, -1))


def dim_mul(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    out: dict[Monomial, int] = {}
    for ma, ca in _terms(a).items():
        for mb, cb in _terms(b).items():
            m = tuple(sorted(ma + mb))
            out[m] = out.get(m, 0) + ca * cb
    return SymDim.from_terms(out)


def dim_product(dims) -> Dim:
    return reduce(dim_mul, dims, 1)


def _divide_monomial(m: Monomial, by: Monomial) -> Monomial | None:
    rest = list(m)
    for s in by:
        if s not in rest:
            return None
        rest.remove(s)
    return tuple(rest)


def dim_exact_div(a: Dim, b: Dim) -> Dim | None:
    """a / b when every term divides exactly by a single-term b; None otherwise."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b if b and a % b == 0 else None
    bt = _terms(b)
    if len(bt) != 1:
        return 1 if a == b else None
    (bm, bc), = bt.items()
    out: dict[Monomial, int] = {}
    for m, c in _terms(a).items():
        q = _divide_monomial(m, bm)
        if q is None or c % bc:
            return None
        out[q] = out.get(q, 0) + c // bc
    return SymDim.from_terms(out)


def parse_dim(text: str) -> Dim:
    """Parse `784`, `n`, `4*n`, `n*m+1`, `2*n-1`."""
    src = text.replace(" ", "")
    if not src:
        raise DimError("empty dimension")
    if src.lstrip("-").isdigit():
        return int(src)
    pieces = re.findall(r"([+-]?)([^+-]+)", src)
    if "".join(sign + body for sign, body in pieces) != src:
        raise DimError(f"invalid dimension expression '{text}'")
    terms: dict[Monomial, int] = {}
    for sign, body in pieces:
        coef = -1 if sign == "-" else 1
        mono: list[str] = []
        for factor in body.split("*"):
            if factor.isdigit():
                coef *= int(factor)
            elif _SYMBOL.fullmatch(factor):
                mono.append(factor)
            else:
                raise DimError(f"invalid dimension expression '{text}'")
        key = tuple(sorted(mono))
        terms[key] = terms.get(key, 0) + coef
    return SymDim.from_terms(terms)


def dim_str(d: Dim) -> str:
    return str(d)


def is_static(d: Dim) -> bool:
    return isinstance(d, int)


def evaluate_dim(d: Dim, env: dict[str, int]) -> int:
    """The value of a dimension once its symbols are bound (missing symbols raise KeyError)."""
    if isinstance(d, int):
        return d
    total = 0
    for mono, coef in d.terms:
        v = coef
        for s in mono:
            v *= env[s]
        total += v
    return total
