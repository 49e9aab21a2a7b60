"""exp, erf, tanh (and sigmoid, through exp) of f32 vectors are computed in registers by
lamina.targets.llvm_vector_math (and by the c target's helpers, c_vector_math), not by libm:
they must stay within a few ulp of the float64 result over the whole range, and get the
special values (inf, -inf, NaN, -0, overflow, underflow) exactly right, on the vector path and
on its scalar tail."""

import math
import warnings

import numpy as np
import pytest

import lamina

REFERENCE = {
    "exp": np.exp,
    "tanh": np.tanh,
    "erf": np.vectorize(math.erf),
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
}
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 88.7, 88.73, -87.4, -87.6, -104.0, 0.4999, 0.5, 0.2499, 0.25, 1e-30, -1e-30, 9.0, -9.0]


TARGETS = ["llvm", "c"]


def compiled(op: str, n: int, target: str):
    return lamina.compile(
        f"""
func.func @f(%x: tensor<{n}xf32>) -> tensor<{n}xf32> {{
  %y = graph.{op} %x : tensor<{n}xf32>
  func.return %y : tensor<{n}xf32>
}}""",
        threads=1,
        target=target,
    )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("op", sorted(REFERENCE))
def test_vector_math_is_within_a_few_ulp_of_float64(op, target):
    model = compiled(op, 4096, target)
    rng = np.random.default_rng(0)
    for scale in (1e-3, 0.3, 1.0, 3.0, 10.0, 100.0):
        x = (rng.standard_normal(4096) * scale).astype(np.float32)
        got = model(x)[0].astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = REFERENCE[op](x.astype(np.float64)).astype(np.float32).astype(np.float64)
        overflow, tiny = np.isinf(want), np.abs(want) < 1e-30
        usual = ~overflow & ~tiny
        rel = np.abs(got[usual] - want[usual]) / np.abs(want[usual])
        assert rel.max() < 2e-6, f"{op} at scale {scale}: {rel.max():.2e} relative"
        assert np.array_equal(got[overflow], want[overflow]) and np.all(np.abs(got[tiny]) < 1e-30)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("op", sorted(REFERENCE))
@pytest.mark.parametrize("n", [len(SPECIAL), 64 + 3])  # a vector body with a scalar tail
def test_vector_math_special_values(op, n, target):
    x = np.resize(np.array(SPECIAL, np.float32), n)
    got = compiled(op, n, target)(x)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = REFERENCE[op](x.astype(np.float64)).astype(np.float32)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30, equal_nan=True)
    assert np.array_equal(np.signbit(got[x == 0]), np.signbit(want[x == 0]))


@pytest.mark.parametrize("op", ["exp", "erf", "tanh"])
def test_c_vector_code_calls_the_helper_not_libm(op):
    """The vector-extension branch computes whole vectors (libm lane by lane stays for the
    portable branch and scalar tails)."""
    source = compiled(op, 4096, "c").source
    vector_branch = source.split("#if defined(__GNUC__) && !defined(LAMINA_PORTABLE_C)")[1].split("\n#else\n")[0]
    assert f"static inline v8_float lamina_v{op}8(" in vector_branch or f"lamina_v{op}16(" in vector_branch
    assert f" = lamina_v{op}" in vector_branch
