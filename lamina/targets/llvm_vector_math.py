"""exp, erf and tanh of f32 vectors as straight-line LLVM code.

LLVM has no vector libm: `llvm.exp` on `<8 x float>` and libm's erff become eight scalar
calls, which made GELU's erf cost as much as the matmul beside it. These are computed in the
vector registers instead, to within a few ulp of libm (checked against numpy in the tests):

- exp(x) = 2^n * p(r), n = round(x / ln 2), r = x - n ln 2 in two parts (Cody-Waite), p the
  degree-7 Taylor polynomial of e^r on |r| <= ln2/2 (truncation below 1e-8 relative); 2^n is
  built in the exponent bits. Overflow gives +inf, underflow 0, NaN stays NaN.
- erf(x): an odd Taylor polynomial for |x| < 0.5, otherwise 1 - t q(t) e^(-x^2) with
  t = 1/(1 + 0.3275911 |x|) (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), with x's sign.
- tanh(x): an odd Taylor polynomial for |x| < 0.25, otherwise 1 - 2 / (e^(2|x|) + 1), with x's sign.
"""

from __future__ import annotations

import math

import llvmlite.ir as ir

from lamina.targets.llvm_emitter import FAST

F32 = ir.FloatType()
I32 = ir.IntType(32)


def _splat(t: ir.VectorType, value: float) -> ir.Constant:
    return ir.Constant(t, [value] * t.count)


def _isplat(t: ir.VectorType, value: int) -> ir.Constant:
    return ir.Constant(ir.VectorType(I32, t.count), [value] * t.count)


def _horner(b: ir.IRBuilder, x: ir.Value, coefficients: list[float]) -> ir.Value:
    """c0 + x (c1 + x (c2 + ...)), highest degree last in `coefficients`."""
    t = x.type
    acc = _splat(t, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        acc = b.fadd(b.fmul(acc, x, flags=FAST), _splat(t, c), flags=FAST)
    return acc


def _intrinsic(module: ir.Module, name: str, t: ir.Type, arity: int) -> ir.Function:
    full = f"{name}.v{t.count}f32"
    fn = module.globals.get(full)
    return fn if fn is not None else ir.Function(module, ir.FunctionType(t, [t] * arity), name=full)


def vector_exp(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    t = x.type
    module = b.module
    clamped = b.call(_intrinsic(module, "llvm.maxnum", t, 2), [x, _splat(t, -87.5)])
    clamped = b.call(_intrinsic(module, "llvm.minnum", t, 2), [clamped, _splat(t, 88.72)])
    n = b.call(_intrinsic(module, "llvm.roundeven", t, 1), [b.fmul(clamped, _splat(t, 1 / math.log(2)))])
    ln2_hi, ln2_lo = 0.693359375, -2.12194440e-4  # ln2_hi has few mantissa bits: n * ln2_hi is exact
    r = b.fsub(clamped, b.fmul(n, _splat(t, ln2_hi)))
    r = b.fsub(r, b.fmul(n, _splat(t, ln2_lo)))
    p = _horner(b, r, [1.0 / math.factorial(k) for k in range(8)])
    # 2^(n-1) from the exponent bits, times 2: n reaches 128 just below overflow, and 2^128
    # has no exponent encoding.
    vi = ir.VectorType(I32, t.count)
    biased = b.add(b.fptosi(n, vi), _isplat(t, 126))
    scale = b.bitcast(b.shl(biased, _isplat(t, 23)), t)
    result = b.fmul(b.fmul(p, _splat(t, 2.0)), scale)
    result = b.select(b.fcmp_ordered(">", x, _splat(t, 88.7228)), _splat(t, math.inf), result)
    result = b.select(b.fcmp_ordered("<", x, _splat(t, -87.5)), _splat(t, 0.0), result)
    return b.select(b.fcmp_unordered("uno", x, x), x, result)


def _odd_function(b: ir.IRBuilder, x: ir.Value, cutoff: float, series: list[float], scale: float, away) -> ir.Value:
    """f(x) of an odd f: scale * x * series(x^2) for |x| < cutoff, else `away(|x|, x^2)` given
    x's sign; NaN stays NaN."""
    t = x.type
    module = b.module
    ax = b.call(_intrinsic(module, "llvm.fabs", t, 1), [x])
    x2 = b.fmul(x, x)
    near = b.fmul(b.fmul(x, _horner(b, x2, series)), _splat(t, scale))
    far = b.call(_intrinsic(module, "llvm.copysign", t, 2), [away(ax, x2), x])
    result = b.select(b.fcmp_ordered("<", ax, _splat(t, cutoff)), near, far)
    return b.select(b.fcmp_unordered("uno", x, x), x, result)


def vector_erf(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    t = x.type

    def away(ax, x2):  # 1 - t (a1 + t (a2 + ...)) e^(-x^2)
        tt = b.fdiv(_splat(t, 1.0), b.fadd(_splat(t, 1.0), b.fmul(ax, _splat(t, 0.3275911))))
        q = b.fmul(tt, _horner(b, tt, [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429]))
        return b.fsub(_splat(t, 1.0), b.fmul(q, vector_exp(b, b.fneg(x2))))

    # |x| < 0.5: 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320)
    return _odd_function(b, x, 0.5, [1.0, -1 / 3, 1 / 10, -1 / 42, 1 / 216, -1 / 1320], 2 / math.sqrt(math.pi), away)


def vector_tanh(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    t = x.type

    def away(ax, x2):  # 1 - 2 / (e^(2|x|) + 1)
        e = vector_exp(b, b.fmul(ax, _splat(t, 2.0)))
        return b.fsub(_splat(t, 1.0), b.fdiv(_splat(t, 2.0), b.fadd(e, _splat(t, 1.0))))

    # |x| < 0.25: x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835
    return _odd_function(b, x, 0.25, [1.0, -1 / 3, 2 / 15, -17 / 315, 62 / 2835], 1.0, away)


VECTOR_MATH = {"math.exp": vector_exp, "math.erf": vector_erf, "math.tanh": vector_tanh}


def is_f32_vector(t: ir.Type) -> bool:
    return isinstance(t, ir.VectorType) and isinstance(t.element, ir.FloatType)


__all__ = ["VECTOR_MATH", "is_f32_vector", "vector_exp", "vector_erf", "vector_tanh"]
