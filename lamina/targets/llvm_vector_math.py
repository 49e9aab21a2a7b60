"""exp, erf and tanh of f32 vectors as straight-line LLVM code.

LLVM has no vector libm: `llvm.exp` on `<8 x float>` and libm's erff become eight scalar
calls, which made GELU's erf cost as much as the matmul beside it. These are computed in the
vector registers instead, to within a few ulp of libm (checked against numpy in the tests):

- exp(x) = 2^n * p(r), n = round(x / ln 2), r = x - n ln 2 in two parts (Cody-Waite), p a
  degree-5 polynomial fitted to e^r on |r| <= ln2/2 (1.7e-7 relative); 2^n is built in the
  exponent bits. Overflow gives +inf, underflow 0, NaN stays NaN.
- erf(x) = x P(x^2) / Q(x^2) with |x| clamped to 3.92 (erf rounds to 1 beyond) and the result
  to 1: one rational function of degrees 5/5 in x^2, fitted for float32 by iteratively reweighted
  least squares on the relative error (3.6e-7 at most, 3 ulp). One division and 11 multiply-adds,
  where the branch pair it replaced (a Taylor series and an exp-based tail) cost four times as
  many instructions and made GELU's epilogue cost half the matmul it follows.
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


# e^r on |r| <= ln2/2: degree 5 with p(0) = 1, fitted for float32 like the erf below (1.7e-7
# relative at most, where the degree-7 Taylor series it replaced took two more multiply-adds).
EXP_POLYNOMIAL = [1.0, 0.9999997019767761, 0.4999915063381195, 0.1666763573884964, 0.04189792647957802, 0.008290312252938747]
EXP_LOWEST, EXP_HIGHEST = -87.5, 88.72  # x is clamped to this range before its reduction
EXP_OVERFLOW = 88.7228  # above: +inf; below EXP_LOWEST: 0 (no subnormals)
LN2_HI, LN2_LO = 0.693359375, -2.12194440e-4  # LN2_HI has few mantissa bits: n * LN2_HI is exact


def vector_exp(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    t = x.type
    module = b.module
    clamped = b.call(_intrinsic(module, "llvm.maxnum", t, 2), [x, _splat(t, EXP_LOWEST)])
    clamped = b.call(_intrinsic(module, "llvm.minnum", t, 2), [clamped, _splat(t, EXP_HIGHEST)])
    n = b.call(_intrinsic(module, "llvm.roundeven", t, 1), [b.fmul(clamped, _splat(t, 1 / math.log(2)))])
    r = b.fsub(clamped, b.fmul(n, _splat(t, LN2_HI)))
    r = b.fsub(r, b.fmul(n, _splat(t, LN2_LO)))
    p = _horner(b, r, EXP_POLYNOMIAL)
    # 2^(n-1) from the exponent bits, times 2: n reaches 128 just below overflow, and 2^128
    # has no exponent encoding.
    vi = ir.VectorType(I32, t.count)
    biased = b.add(b.fptosi(n, vi), _isplat(t, 126))
    scale = b.bitcast(b.shl(biased, _isplat(t, 23)), t)
    result = b.fmul(b.fmul(p, _splat(t, 2.0)), scale)
    result = b.select(b.fcmp_ordered(">", x, _splat(t, EXP_OVERFLOW)), _splat(t, math.inf), result)
    result = b.select(b.fcmp_ordered("<", x, _splat(t, EXP_LOWEST)), _splat(t, 0.0), result)
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


ERF_CLAMP = 3.92
ERF_NUMERATOR = [1.1283791065216064, 0.1904064565896988, 0.05274873226881027, 0.003765618894249201, 0.00028488319367170334, 2.0500931441347348e-06]
ERF_DENOMINATOR = [1.0, 0.5020760893821716, 0.1141091138124466, 0.014969220384955406, 0.0011625367915257812, 3.809179906966165e-05]


def vector_erf(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    t = x.type
    module = b.module
    ax = b.call(_intrinsic(module, "llvm.minnum", t, 2), [b.call(_intrinsic(module, "llvm.fabs", t, 1), [x]), _splat(t, ERF_CLAMP)])
    x2 = b.fmul(ax, ax)
    ratio = b.fdiv(_horner(b, x2, ERF_NUMERATOR), _horner(b, x2, ERF_DENOMINATOR))
    magnitude = b.call(_intrinsic(module, "llvm.minnum", t, 2), [b.fmul(ax, ratio), _splat(t, 1.0)])
    result = b.call(_intrinsic(module, "llvm.copysign", t, 2), [magnitude, x])
    # minnum drops a NaN operand: NaN in, NaN out.
    return b.select(b.fcmp_unordered("uno", x, x), x, result)


# |x| < 0.25: x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835
TANH_CUTOFF = 0.25
TANH_SERIES = [1.0, -1 / 3, 2 / 15, -17 / 315, 62 / 2835]


def vector_tanh(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    t = x.type

    def away(ax, x2):  # 1 - 2 / (e^(2|x|) + 1)
        e = vector_exp(b, b.fmul(ax, _splat(t, 2.0)))
        return b.fsub(_splat(t, 1.0), b.fdiv(_splat(t, 2.0), b.fadd(e, _splat(t, 1.0))))

    return _odd_function(b, x, TANH_CUTOFF, TANH_SERIES, 1.0, away)


VECTOR_MATH = {"math.exp": vector_exp, "math.erf": vector_erf, "math.tanh": vector_tanh}


def is_f32_vector(t: ir.Type) -> bool:
    return isinstance(t, ir.VectorType) and isinstance(t.element, ir.FloatType)


__all__ = ["VECTOR_MATH", "is_f32_vector", "vector_exp", "vector_erf", "vector_tanh"]
