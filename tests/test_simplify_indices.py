"""simplify-indices folds a division of `q*c + r` by `c` when the iterator ranges prove
0 <= r < c: random linear indices over random domains, divided and reduced by random constants,
compute the same before and after the pass, and the reshape/transpose pair of attention heads
loses its divisions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.compiler import run_passes
from lamina.interpreter.loop import run_function
from lamina.parser import parse_module

DIVISIONS = {"arith.floordivsi", "arith.divsi", "arith.remsi"}


def divided_index_module(extents, coefficients, constant, divisor, op, offset, size):
    """out[i...] = src[(sum coef*i + constant) op divisor + offset]."""
    rank = len(extents)
    shape = "x".join(map(str, extents))
    names = [f"%i{k}" for k in range(rank)]
    args = [f"%a{k}" for k in range(rank)]
    lines = [
        f"func.func @f(%src: memref<{size}xf32>, %out: memref<{shape}xf32>) attributes {{lamina.outputs = 1 : i64}} {{",
        "  %lo = arith.constant 0 : index",
    ]
    for k, extent in enumerate(extents):
        lines.append(f"  %n{k} = arith.constant {extent} : index")
    for k in range(rank):
        lines.append("  " * (k + 1) + f'loop.for %lo, %n{k} {{kind = "parallel", label = "l{k}"}} ({names[k]}: index) {{')
    pad = "  " * (rank + 1)
    lines.append(f'{pad}loop.block {", ".join(names)} {{label = "w", iter_kinds = "{"S" * rank}", domain = {list(extents)}}} ({", ".join(f"%b{k}: index" for k in range(rank))}) {{')
    lines.append(f"{pad}  loop.yield")
    lines.append(f'{pad}}} ({", ".join(f"{a}: index" for a in args)}) {{')
    body = [f"%acc = arith.constant {constant} : index"]
    total = "%acc"
    for k, coef in enumerate(coefficients):
        body += [f"%c{k} = arith.constant {coef} : index", f"%t{k} = arith.muli {args[k]}, %c{k} : index", f"%s{k} = arith.addi {total}, %t{k} : index"]
        total = f"%s{k}"
    body += [
        f"%d = arith.constant {divisor} : index",
        f"%q = {op} {total}, %d : index",
        f"%off = arith.constant {offset} : index",
        "%at = arith.addi %q, %off : index",
        "%v = loop.load %src, %at : f32",
        f"loop.store %v, %out, {', '.join(args)}",
        "loop.yield",
    ]
    lines += [f"{pad}  {line}" for line in body]
    lines.append(f"{pad}}}")
    for k in reversed(range(rank)):
        lines.append("  " * (k + 2) + "loop.yield")
        lines.append("  " * (k + 1) + "}")
    lines += ["  func.return", "}"]
    return parse_module("\n".join(lines), "<divided-index>")


def reference(value: int, divisor: int, op: str) -> int:
    if op == "arith.floordivsi":
        return value // divisor
    quotient = abs(value) // divisor * (1 if value >= 0 else -1)  # truncating
    return quotient if op == "arith.divsi" else value - quotient * divisor


def ops_in(module) -> set[str]:
    return {op.name for op in module.walk()}


def check_folding_keeps_values(extents, coefficients, constant, divisor, op) -> bool:
    """Interpret before and after the pass (and against Python's arithmetic); returns whether
    the division folded away."""
    points = [sum(c * i for c, i in zip(coefficients, p)) + constant for p in itertools.product(*map(range, extents))]
    results = [reference(v, divisor, op) for v in points]
    offset, size = -min(results), max(results) - min(results) + 1
    module = divided_index_module(extents, coefficients, constant, divisor, op, offset, size)
    src = np.arange(size, dtype=np.float32)
    before = run_function(module, src)[0]
    np.testing.assert_array_equal(before.ravel(), np.array(results, np.float32) + offset)
    run_passes(module, ["simplify-indices"])
    np.testing.assert_array_equal(run_function(module, src)[0], before)
    return op not in ops_in(module)


@settings(max_examples=150, deadline=None)
@given(
    extents=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    data=st.data(),
    divisor=st.integers(1, 40),
    op=st.sampled_from(sorted(DIVISIONS)),
)
def test_folded_divisions_compute_what_they_did(extents, data, divisor, op):
    # coefficients that are multiples of the divisor (the q*c part) and small ones (the r part)
    coefficients = [data.draw(st.one_of(st.integers(-3, 3).map(lambda m: m * divisor), st.integers(-12, 12))) for _ in extents]
    check_folding_keeps_values(extents, coefficients, data.draw(st.integers(-60, 60)), divisor, op)


@pytest.mark.parametrize(
    "extents, coefficients, constant, folds",
    [
        ([5, 4], [4, 1], 0, True),  # r = j in [0, 3]
        ([5, 5], [4, 1], 0, False),  # r = j reaches 4
        ([5, 4], [4, 1], 1, False),  # r = j + 1 reaches 4
        ([5, 4], [4, -1], 3, True),  # r = 3 - j in [0, 3]
        ([5, 4], [4, -1], 2, False),  # r = 2 - j reaches -1
        ([5, 4], [-4, 1], 16, True),  # q = 4 - i, r = j
    ],
)
@pytest.mark.parametrize("op", sorted(DIVISIONS))
def test_divisions_at_the_edge_of_the_remainder_range(extents, coefficients, constant, folds, op):
    assert check_folding_keeps_values(extents, coefficients, constant, 4, op) == folds


def test_a_division_the_ranges_decide_folds_and_a_real_one_stays():
    # (4*i + j) floordiv 4 with j < 4 is i; (i + j) floordiv 4 over i < 5, j < 4 is a real division
    folded = divided_index_module([5, 4], [4, 1], 0, 4, "arith.floordivsi", 0, 5)
    run_passes(folded, ["simplify-indices"])
    assert not ops_in(folded) & DIVISIONS
    kept = divided_index_module([5, 4], [1, 1], 0, 4, "arith.floordivsi", 0, 5)
    run_passes(kept, ["simplify-indices"])
    assert "arith.floordivsi" in ops_in(kept)
    # a remainder of a dividend that may be negative truncates: it stays
    negative = divided_index_module([5, 4], [4, 1], -8, 4, "arith.remsi", 3, 4)
    run_passes(negative, ["simplify-indices"])
    assert "arith.remsi" in ops_in(negative)


HEADS = """
func.func @heads(%x: tensor<1x8x32xf32>) -> tensor<1x4x8x8xf32> {
  %r = graph.reshape %x {shape = [1, 8, 4, 8]}
  %t = graph.transpose %r {perm = [0, 2, 1, 3]}
  func.return %t : tensor<1x4x8x8xf32>
}
"""


def test_attention_heads_lose_their_divisions_and_keep_their_values():
    module = parse_module(HEADS, "<heads>")
    run_passes(module, ["lower-graph-to-loop"])
    x = np.random.default_rng(0).standard_normal((1, 8, 32)).astype(np.float32)
    assert ops_in(module) & DIVISIONS
    run_passes(module, ["simplify-indices"])
    assert not ops_in(module) & DIVISIONS
    np.testing.assert_array_equal(run_function(module, x)[0], x.reshape(1, 8, 4, 8).transpose(0, 2, 1, 3))
