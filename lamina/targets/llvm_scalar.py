"""arith and math ops → LLVM instructions, intrinsics and libm calls; scalars and vectors alike."""

from __future__ import annotations

import llvmlite.ir as ir
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Operation

from lamina.ir.arith_predicates import CMPF_PREDICATES, CMPI_PREDICATES
from lamina.ir.diagnostics import error_at
from lamina.targets.llvm_emitter import FAST, LLVMEmitter, constant_value, is_float_type, llvm_type
from lamina.targets.llvm_vector_math import VECTOR_MATH, is_f32_vector

FLOAT_BINARY = {"arith.addf": "fadd", "arith.subf": "fsub", "arith.mulf": "fmul", "arith.divf": "fdiv"}
INT_BINARY = {
    "arith.addi": "add",
    "arith.subi": "sub",
    "arith.muli": "mul",
    "arith.andi": "and_",
    "arith.ori": "or_",
    "arith.xori": "xor",
    "arith.shli": "shl",
    "arith.shrsi": "ashr",
    "arith.shrui": "lshr",
}
INDEX_NO_WRAP = ("arith.addi", "arith.subi", "arith.muli")
# Division by zero is undefined in LLVM; lamina defines x/0 = x%0 = 0 (the interpreter's rule).
INT_DIVISION = ("arith.divsi", "arith.divui", "arith.remsi", "arith.remui", "arith.floordivsi", "arith.ceildivsi")
# Intrinsics LLVM lowers for scalars and vectors alike.
INTRINSICS = {
    "math.sqrt": ("llvm.sqrt", 1),
    "math.absf": ("llvm.fabs", 1),
    "math.floor": ("llvm.floor", 1),
    "math.ceil": ("llvm.ceil", 1),
    "math.round": ("llvm.round", 1),
    "math.roundeven": ("llvm.roundeven", 1),
    "math.trunc": ("llvm.trunc", 1),
    "math.exp": ("llvm.exp", 1),
    "math.exp2": ("llvm.exp2", 1),
    "math.log": ("llvm.log", 1),
    "math.log2": ("llvm.log2", 1),
    "math.log10": ("llvm.log10", 1),
    "math.sin": ("llvm.sin", 1),
    "math.cos": ("llvm.cos", 1),
    "math.tan": ("llvm.tan", 1),
    "math.tanh": ("llvm.tanh", 1),
    "math.powf": ("llvm.pow", 2),
    "math.copysign": ("llvm.copysign", 2),
    "math.fma": ("llvm.fma", 3),
    "arith.maximumf": ("llvm.maximum", 2),
    "arith.minimumf": ("llvm.minimum", 2),
    "arith.maxnumf": ("llvm.maxnum", 2),
    "arith.minnumf": ("llvm.minnum", 2),
}
# libm functions with no LLVM intrinsic; vectors call them lane by lane.
LIBM = {"math.erf": "erf", "math.atan": "atan", "math.asin": "asin", "math.acos": "acos", "math.sinh": "sinh", "math.cosh": "cosh",
        "math.expm1": "expm1", "math.log1p": "log1p", "math.cbrt": "cbrt", "math.atan2": "atan2"}
FCMP = {
    "oeq": ("==", True), "ogt": (">", True), "oge": (">=", True), "olt": ("<", True), "ole": ("<=", True), "one": ("!=", True),
    "ord": ("ord", True), "ueq": ("==", False), "ugt": (">", False), "uge": (">=", False), "ult": ("<", False),
    "ule": ("<=", False), "une": ("!=", False), "uno": ("uno", False),
}
ICMP = {"eq": ("==", True), "ne": ("!=", True), "slt": ("<", True), "sle": ("<=", True), "sgt": (">", True), "sge": (">=", True),
        "ult": ("<", False), "ule": ("<=", False), "ugt": (">", False), "uge": (">=", False)}


def emit_scalar(em: LLVMEmitter, op: Operation, args: list, b: ir.IRBuilder) -> ir.Value:
    name = op.name
    rt = llvm_type(op.results[0].type)
    if name == "arith.constant":
        return constant_value(op)
    if name in FLOAT_BINARY:
        return getattr(b, FLOAT_BINARY[name])(args[0], args[1], flags=FAST)
    if name in INT_BINARY:
        if name in INDEX_NO_WRAP and isinstance(op.results[0].type, IndexType):
            # Index arithmetic never wraps (it addresses buffers): saying so lets LLVM prove the
            # accumulators of a register tile apart when a loop bound is only known at run time.
            return getattr(b, INT_BINARY[name])(args[0], args[1], flags=("nsw",))
        return getattr(b, INT_BINARY[name])(args[0], args[1])
    if name in INT_DIVISION:
        return _guarded_division(b, name, args[0], args[1], rt)
    if name == "arith.negf":
        return b.fneg(args[0])
    if name in VECTOR_MATH and is_f32_vector(rt):
        return VECTOR_MATH[name](b, args[0])
    if name in INTRINSICS:
        iname, arity = INTRINSICS[name]
        return b.call(em.intrinsic(iname, rt, arity), args)
    if name == "math.rsqrt":
        one = ir.Constant(rt, [1.0] * rt.count) if isinstance(rt, ir.VectorType) else ir.Constant(rt, 1.0)
        return b.fdiv(one, b.call(em.intrinsic("llvm.sqrt", rt, 1), args))
    if name == "math.absi":
        return b.call(_abs_int(em, rt), [args[0], ir.Constant(I1, 0)])
    if name == "math.ipowi":
        # Through double, exact for every result an integer of the operand's width can hold;
        # negative exponents count as 0, as in the interpreter.
        f64t = ir.DoubleType()
        base = b.sitofp(args[0], f64t)
        expo = b.sitofp(b.select(b.icmp_signed("<", args[1], _zero(rt)), _zero(rt), args[1]), f64t)
        return b.fptosi(b.call(em.intrinsic("llvm.pow", f64t, 2), [base, expo]), rt)
    if name in LIBM:
        return _libm_call(em, b, LIBM[name], rt, args)
    if name == "arith.cmpf":
        pred = CMPF_PREDICATES[op.predicate.value.data]
        if pred in ("false", "true"):
            return ir.Constant(rt, int(pred == "true"))
        cmp, ordered = FCMP[pred]
        return b.fcmp_ordered(cmp, args[0], args[1]) if ordered else b.fcmp_unordered(cmp, args[0], args[1])
    if name == "arith.cmpi":
        cmp, signed = ICMP[CMPI_PREDICATES[op.predicate.value.data]]
        return b.icmp_signed(cmp, args[0], args[1]) if signed else b.icmp_unsigned(cmp, args[0], args[1])
    if name == "arith.select":
        return b.select(args[0], args[1], args[2])
    if name in ("arith.maxsi", "arith.minsi", "arith.maxui", "arith.minui"):
        cmp = ">" if "max" in name else "<"
        test = b.icmp_signed(cmp, args[0], args[1]) if name.endswith("si") else b.icmp_unsigned(cmp, args[0], args[1])
        return b.select(test, args[0], args[1])
    conversions = {
        "arith.sitofp": b.sitofp,
        "arith.uitofp": b.uitofp,
        "arith.fptosi": b.fptosi,
        "arith.fptoui": b.fptoui,
        "arith.extf": b.fpext,
        "arith.truncf": b.fptrunc,
        "arith.extsi": b.sext,
        "arith.extui": b.zext,
        "arith.trunci": b.trunc,
        "arith.bitcast": b.bitcast,
    }
    if name in conversions:
        return conversions[name](args[0], rt)
    if name == "arith.index_cast":
        src = args[0].type
        if src.width == rt.width:
            return args[0]
        return b.trunc(args[0], rt) if src.width > rt.width else b.sext(args[0], rt)
    raise error_at(op, f"the llvm target cannot emit '{name}'")


I1 = ir.IntType(1)


def _zero(t: ir.Type) -> ir.Constant:
    return ir.Constant(t, [0] * t.count) if isinstance(t, ir.VectorType) else ir.Constant(t, 0)


def _one(t: ir.Type) -> ir.Constant:
    return ir.Constant(t, [1] * t.count) if isinstance(t, ir.VectorType) else ir.Constant(t, 1)


def _guarded_division(b: ir.IRBuilder, name: str, a, d, t: ir.Type) -> ir.Value:
    is_zero = b.icmp_signed("==", d, _zero(t))
    safe = b.select(is_zero, _one(t), d)
    if name == "arith.divui":
        q = b.udiv(a, safe)
    elif name == "arith.remui":
        q = b.urem(a, safe)
    elif name == "arith.remsi":
        q = b.srem(a, safe)
    else:
        q = b.sdiv(a, safe)
        if name in ("arith.floordivsi", "arith.ceildivsi"):
            r = b.srem(a, safe)
            inexact = b.icmp_signed("!=", r, _zero(t))
            opposite = b.icmp_signed("!=", b.icmp_signed("<", a, _zero(t)), b.icmp_signed("<", safe, _zero(t)))
            if name == "arith.floordivsi":
                q = b.select(b.and_(inexact, opposite), b.sub(q, _one(t)), q)
            else:
                q = b.select(b.and_(inexact, b.not_(opposite)), b.add(q, _one(t)), q)
    return b.select(is_zero, _zero(t), q)


def _abs_int(em: LLVMEmitter, t: ir.Type) -> ir.Function:
    from lamina.targets.llvm_emitter import _intrinsic_suffix

    full = f"llvm.abs.{_intrinsic_suffix(t)}"
    fn = em.module.globals.get(full)
    if fn is None:
        fn = ir.Function(em.module, ir.FunctionType(t, [t, I1]), name=full)
    return fn


def _libm_call(em: LLVMEmitter, b: ir.IRBuilder, base: str, rt: ir.Type, args: list) -> ir.Value:
    elem = rt.element if isinstance(rt, ir.VectorType) else rt
    fname = base + ("f" if isinstance(elem, ir.FloatType) else "")
    fn = em.libm(fname, elem, len(args))
    if not isinstance(rt, ir.VectorType):
        return b.call(fn, args)
    out = ir.Constant(rt, ir.Undefined)
    for lane in range(rt.count):
        idx = ir.Constant(ir.IntType(32), lane)
        res = b.call(fn, [b.extract_element(a, idx) for a in args])
        out = b.insert_element(out, res, idx)
    return out


__all__ = ["emit_scalar", "arith", "is_float_type"]
