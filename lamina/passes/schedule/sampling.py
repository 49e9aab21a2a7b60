"""Sampling ops for tuning: sample_perfect_tile and sample_categorical. A sampled decision is
written back onto the op (its `decision` attribute), so the trace replays deterministically;
an op that already carries a decision is replayed, after checking it still fits."""

from __future__ import annotations

from math import prod

from xdsl.ir import Operation

from lamina.ir.diagnostics import error_at
from lamina.ir.optable import attr_from_value
from lamina.passes.schedule.nest import trip_count
from lamina.passes.schedule.primitives import Runner, register
from lamina.passes.schedule.state import Handle, ValueHandle


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def sample_perfect_tile(rng, extent: int, n: int, max_innermost: int) -> list[int]:
    """n factors whose product is extent, the innermost at most max_innermost (TVM's rule)."""
    innermost = rng.choice([d for d in _divisors(extent) if d <= max_innermost])
    rest = extent // innermost
    factors = [innermost]
    for _ in range(n - 2):
        f = rng.choice(_divisors(rest))
        factors.append(f)
        rest //= f
    factors.append(rest)
    return factors[::-1]


@register("sample_perfect_tile")
def _sample_perfect_tile(r: Runner, op: Operation) -> list[Handle]:
    loop = r.loop(op.operands[0], op)
    extent = trip_count(loop)
    if extent is None:
        raise error_at(op, f"cannot sample a perfect tile of '{loop.attr('label')}': its extent is not static")
    n, max_innermost = op.attr("n"), op.attr("max_innermost_factor")
    decision = op.attr("decision")
    if decision is None:
        decision = sample_perfect_tile(r.rng, extent, n, max_innermost)
        op.properties["decision"] = attr_from_value("ints", decision)
    elif prod(decision) != extent or len(decision) != n or min(decision) < 1:
        raise error_at(op, f"the recorded decision {list(decision)} is not a perfect tile of '{loop.attr('label')}' (extent {extent}) into {n} factors")
    return [ValueHandle(int(f)) for f in decision]


@register("sample_categorical")
def _sample_categorical(r: Runner, op: Operation) -> list[Handle]:
    candidates = list(op.attr("candidates"))
    decision = op.attr("decision")
    if decision is None:
        probs = op.attr("probs")
        weights = list(probs) if probs is not None else [1.0] * len(candidates)
        if min(weights) < 0 or sum(weights) <= 0:
            raise error_at(op, f"probabilities must be non-negative with a positive sum, got {weights}")
        decision = r.rng.choices(range(len(candidates)), weights=weights)[0]
        op.properties["decision"] = attr_from_value("int", decision)
    return [ValueHandle(candidates[decision])]
