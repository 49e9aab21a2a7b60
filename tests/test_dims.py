"""Symbolic dimension arithmetic: the polynomial forms shape rules rely on."""

import pytest
from hypothesis import given, strategies as st

from lamina.ir.dims import (
    DimError,
    SymDim,
    dim_add,
    dim_exact_div,
    dim_mul,
    dim_product,
    dim_str,
    dim_sub,
    evaluate_dim,
    is_static,
    parse_dim,
)

N = SymDim.symbol("n")
M = SymDim.symbol("m")


def test_static_arithmetic_stays_int():
    assert dim_add(3, 4) == 7 and isinstance(dim_mul(3, 4), int)
    assert dim_product([2, 3, 4]) == 24
    assert dim_exact_div(12, 4) == 3
    assert dim_exact_div(12, 5) is None


def test_symbolic_products_and_cancellation():
    four_n = dim_mul(N, 4)
    assert str(four_n) in ("4*n", "n*4")
    assert dim_exact_div(four_n, 4) == N
    assert dim_exact_div(dim_mul(N, M), M) == N
    assert dim_sub(dim_add(N, 3), N) == 3
    assert is_static(dim_sub(N, N))
    assert not is_static(four_n)


def test_parse_print_round_trip():
    for text in ["n", "4*n", "n*m+1", "7"]:
        d = parse_dim(text)
        assert parse_dim(dim_str(d)) == d


def test_parse_rejects_garbage():
    with pytest.raises(DimError):
        parse_dim("n+")
    with pytest.raises(DimError):
        parse_dim("4**n")


def test_evaluate_needs_every_symbol():
    assert evaluate_dim(parse_dim("n*m+1"), {"n": 3, "m": 5}) == 16
    with pytest.raises(KeyError):
        evaluate_dim(N, {})


@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(1, 9), st.integers(1, 9))
def test_polynomials_evaluate_like_integers(a, b, n, m):
    p = dim_add(dim_mul(a, N), dim_mul(b, dim_mul(N, M)))
    env = {"n": n, "m": m}
    assert evaluate_dim(p, env) == a * n + b * n * m
    q = dim_mul(p, dim_add(M, 1))
    assert evaluate_dim(q, env) == (a * n + b * n * m) * (m + 1)
    r = dim_mul(p, dim_mul(3, M))
    if not is_static(p):
        assert evaluate_dim(dim_exact_div(r, dim_mul(3, M)), env) == evaluate_dim(p, env)
