"""exp, erf and tanh of GCC float vectors, for the c target's vector-extension branch: the
llvm target's algorithms (`llvm_vector_math.py`, same coefficients), written as C helpers.

Without them each lane called libm, and GELU's erf cost the transformer block's C build a
third of its time. The helpers use only vector arithmetic, comparisons, bitwise operations,
reinterpreting casts and `__builtin_convertvector`, which GCC and Clang both have; rounding goes
through a conversion to integers, so no flag (not even -ffast-math) folds it away."""

from __future__ import annotations

import math

from lamina.targets.llvm_vector_math import (
    ERF_CLAMP,
    ERF_DENOMINATOR,
    ERF_NUMERATOR,
    EXP_HIGHEST,
    EXP_LOWEST,
    EXP_OVERFLOW,
    EXP_POLYNOMIAL,
    LN2_HI,
    LN2_LO,
    TANH_CUTOFF,
    TANH_SERIES,
)

# The math ops a float vector computes with a helper: the C name's stem.
VECTOR_MATH_HELPERS = {"math.exp": "exp", "math.erf": "erf", "math.tanh": "tanh"}


def helper_name(op_name: str, lanes: int) -> str:
    return f"lamina_v{VECTOR_MATH_HELPERS[op_name]}{lanes}"


def vector_math_helpers(lanes: int) -> str:
    """The C definitions of the helpers for vectors of `lanes` floats (type `v<lanes>_float`)."""
    vf, vi = f"v{lanes}_float", f"lamina_v{lanes}_int32"

    def splat(value: float) -> str:
        text = "INFINITY" if value == math.inf else f"{float(value)!r}f"
        return f"(({vf}){{{', '.join([text] * lanes)}}})"

    def isplat(value: int) -> str:
        return f"(({vi}){{{', '.join([str(value)] * lanes)}}})"

    def horner(x: str, coefficients: list[float]) -> str:
        expr = splat(coefficients[-1])
        for c in reversed(coefficients[:-1]):
            expr = f"({expr} * {x} + {splat(c)})"
        return expr

    select = f"lamina_vselect{lanes}"
    sign = f"(({vi}){{{', '.join(['(int32_t)0x80000000'] * lanes)}}})"
    magnitude = isplat(0x7FFFFFFF)
    return f"""typedef int32_t {vi} __attribute__((vector_size({4 * lanes})));
static inline {vf} {select}({vi} mask, {vf} a, {vf} b) {{
  return ({vf})((mask & ({vi})a) | (~mask & ({vi})b));
}}
static inline {vf} lamina_vexp{lanes}({vf} x) {{
  {vf} c = {select}(x < {splat(EXP_LOWEST)}, {splat(EXP_LOWEST)}, x);
  c = {select}(c > {splat(EXP_HIGHEST)}, {splat(EXP_HIGHEST)}, c);
  {vf} t = c * {splat(1 / math.log(2))};
  {vi} ni = __builtin_convertvector(t + {select}(t < {splat(0.0)}, {splat(-0.5)}, {splat(0.5)}), {vi});
  {vf} n = __builtin_convertvector(ni, {vf});
  {vf} r = c - n * {splat(LN2_HI)};
  r = r - n * {splat(LN2_LO)};
  /* 2^(n-1) from the exponent bits, times 2: n reaches 128 just below overflow. */
  {vf} result = {horner("r", EXP_POLYNOMIAL)} * {splat(2.0)} * ({vf})((ni + {isplat(126)}) << {isplat(23)});
  result = {select}(x > {splat(EXP_OVERFLOW)}, {splat(math.inf)}, result);
  result = {select}(x < {splat(EXP_LOWEST)}, {splat(0.0)}, result);
  return {select}(x != x, x, result);
}}
static inline {vf} lamina_verf{lanes}({vf} x) {{
  {vf} ax = ({vf})(({vi})x & {magnitude});
  ax = {select}(ax > {splat(ERF_CLAMP)}, {splat(ERF_CLAMP)}, ax);
  {vf} x2 = ax * ax;
  {vf} m = ax * ({horner("x2", ERF_NUMERATOR)} / {horner("x2", ERF_DENOMINATOR)});
  m = {select}(m > {splat(1.0)}, {splat(1.0)}, m);
  return {select}(x != x, x, ({vf})(({vi})m | (({vi})x & {sign})));
}}
static inline {vf} lamina_vtanh{lanes}({vf} x) {{
  {vf} ax = ({vf})(({vi})x & {magnitude});
  {vf} near = x * {horner("(x * x)", TANH_SERIES)};
  {vf} far = {splat(1.0)} - {splat(2.0)} / (lamina_vexp{lanes}(ax * {splat(2.0)}) + {splat(1.0)});
  far = ({vf})(({vi})far | (({vi})x & {sign}));
  return {select}(x != x, x, {select}(ax < {splat(TANH_CUTOFF)}, near, far));
}}"""


__all__ = ["VECTOR_MATH_HELPERS", "helper_name", "vector_math_helpers"]
