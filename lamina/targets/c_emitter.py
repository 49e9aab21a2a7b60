"""Device dialect → C99 (plus OpenMP pragmas for parallel loops), with the same ABI functions
as the llvm target. The CUDA emitter reuses this for kernel bodies.

Vector code is written twice when a module has any: with GCC/Clang vector extensions, chosen
by `#if defined(__GNUC__)`, and lane by lane over structs of arrays for any other C99
compiler (or for GCC too, with -DLAMINA_PORTABLE_C), so the one source builds everywhere and is
fast where the extensions exist. Nothing
outside that branch uses an extension (alignment goes through a macro that is empty without
GCC); float16 alone needs `_Float16`, and a C99 build of a model using it stops at an #error
that says so."""

from __future__ import annotations

import math as pymath

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr, IntegerType, ModuleOp, VectorType
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina.ir.diagnostics import error_at
from lamina.ir.dims import Dim
from lamina.ir.types import BufferType, f16, f32, f64, numpy_dtype
from lamina.runtime.abi import ABI_VERSION, ModuleSignature
from lamina.targets.c_vector_math import VECTOR_MATH_HELPERS, helper_name, vector_math_helpers

C_BINARY = {
    "arith.addf": "+", "arith.subf": "-", "arith.mulf": "*", "arith.divf": "/",
    "arith.addi": "+", "arith.subi": "-", "arith.muli": "*",
    "arith.andi": "&", "arith.ori": "|", "arith.xori": "^", "arith.shli": "<<", "arith.shrsi": ">>",
}  # fmt: skip
C_MATH = {
    "math.exp": "exp", "math.log": "log", "math.sqrt": "sqrt", "math.tanh": "tanh", "math.erf": "erf",
    "math.absf": "fabs", "math.floor": "floor", "math.ceil": "ceil", "math.sin": "sin", "math.cos": "cos",
    "math.tan": "tan", "math.powf": "pow", "math.round": "round", "math.roundeven": "nearbyint",
    "math.trunc": "trunc", "math.exp2": "exp2", "math.log2": "log2", "math.log10": "log10",
    "math.atan": "atan", "math.asin": "asin", "math.acos": "acos", "math.sinh": "sinh", "math.cosh": "cosh",
    "math.expm1": "expm1", "math.log1p": "log1p", "math.cbrt": "cbrt", "math.copysign": "copysign",
    "math.fma": "fma", "arith.maxnumf": "fmax", "arith.minnumf": "fmin", "math.atan2": "atan2",
}  # fmt: skip
FCMP = {1: "==", 2: ">", 3: ">=", 4: "<", 5: "<=", 6: "!=", 8: "==", 9: ">", 10: ">=", 11: "<", 12: "<=", 13: "!="}
INTEGER_DIVISION = ("arith.divsi", "arith.divui", "arith.remsi", "arith.remui", "arith.floordivsi", "arith.ceildivsi")
CASTS = ("arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui", "arith.extf", "arith.truncf",
         "arith.extsi", "arith.extui", "arith.trunci", "arith.index_cast")  # fmt: skip
# Ops GCC's vector extensions apply to whole vectors; every other vector op goes lane by lane
# (GCC's vector comparisons give -1/0 lanes as wide as the operands, not 0/1 bytes, and C has
# no vector conditional).
WHOLE_VECTOR = (*C_BINARY, "arith.negf")
ICMP = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">=", 6: "<", 7: "<=", 8: ">", 9: ">="}


def c_scalar_type(t: Attribute) -> str:
    if isinstance(t, IndexType):
        return "int64_t"
    if t == f32:
        return "float"
    if t == f64:
        return "double"
    if t == f16:
        return "_Float16"
    if isinstance(t, IntegerType):
        w = t.width.data
        if w == 1:
            return "bool"
        return f"{'uint' if t.signedness.data.name == 'UNSIGNED' else 'int'}{w}_t"
    if isinstance(t, VectorType):
        (lanes,) = t.get_shape()
        return f"v{lanes}_{vector_element_type(t.element_type)}"
    raise TypeError(f"no C type for {t}")


def unsigned_c_type(t: Attribute) -> str:
    """The unsigned C type as wide as integer or index type `t` (or a vector's lanes): what the
    unsigned ops (divui, shrui, cmpi ult ...) convert their operands to, whatever the signedness
    of the type the values are declared with."""
    t = getattr(t, "element_type", t)
    if isinstance(t, IndexType):
        return "uint64_t"
    if isinstance(t, IntegerType):
        return "bool" if t.width.data == 1 else f"uint{t.width.data}_t"
    raise TypeError(f"no unsigned C type for {t}")


def mangle(name: str) -> str:
    """Model functions live in lamina's namespace: `@main` must not become C's main."""
    return "lamina_fn_" + name


def vector_element_type(t: Attribute) -> str:
    # GCC has no vectors of bool; i1 lanes are bytes holding 0 or 1, as bool buffers do.
    return "int8_t" if isinstance(t, IntegerType) and t.width.data == 1 else c_scalar_type(t)


# Alignment of local arrays and constant tables, and prefetches: only speed hints (vector loads
# and stores go through memcpy), so a compiler without GCC's extensions simply goes without.
ALIGN_MACRO = """#if defined(__GNUC__)
#define LAMINA_ALIGN64 __attribute__((aligned(64)))
#else
#define LAMINA_ALIGN64
#endif"""
PREFETCH_MACRO = """#if defined(__GNUC__) && !defined(LAMINA_PORTABLE_C)
#define LAMINA_PREFETCH(address) __builtin_prefetch((address), 0, 2)
#else
#define LAMINA_PREFETCH(address) ((void)(address))
#endif"""


def _mentions_f16(module: ModuleOp) -> bool:
    def is_f16(v: SSAValue) -> bool:
        return getattr(v.type, "element_type", v.type) == f16

    for op in module.walk():
        if any(is_f16(v) for v in (*op.operands, *op.results)):
            return True
        if any(is_f16(a) for region in op.regions for block in region.blocks for a in block.args):
            return True
    return False


class CEmitter:
    align = "LAMINA_ALIGN64"  # what follows a local array or constant table to align it

    def __init__(self, module: ModuleOp, symbols: tuple[str, ...], openmp: bool = True):
        self.module = module
        self.symbols = symbols
        self.openmp = openmp
        self.lines: list[str] = []
        self.names: dict[SSAValue, str] = {}
        self.vector_types: set[tuple[str, int, int]] = set()
        self.constants: list[str] = []
        self.counter = 0
        # False: vectors are GCC vector-extension values; True: structs of lane arrays, every
        # vector operation written out lane by lane (plain C99).
        self.lanewise = False
        # Local buffers declared as arrays of vectors (see vector_slots): their lanes.
        self.vector_locals: dict[SSAValue, int] = {}
        # Float vector widths whose exp/erf/tanh helpers the vector-extension branch calls.
        self.vector_math: set[int] = set()

    # ------------------------------------------------------------ names

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def n(self, v: SSAValue) -> str:
        return self.names[v]

    def ctype(self, t: Attribute) -> str:
        if isinstance(t, VectorType):
            (lanes,) = t.get_shape()
            self.vector_types.add((vector_element_type(t.element_type), lanes, numpy_dtype(t.element_type).itemsize))
        if isinstance(t, BufferType):
            return c_scalar_type(t.element_type) + " *"
        return c_scalar_type(t)

    # ------------------------------------------------------------ module

    def emit(self) -> str:
        functions = self.emit_functions()
        if not self.vector_types:
            return "\n".join(self.head() + self.constants + functions) + "\n"
        vector_types = sorted(self.vector_types)
        constants = self.constants
        self.lanewise, self.names, self.counter, self.constants, self.vector_locals = True, {}, 0, [], {}
        lanewise_functions = self.emit_functions()
        # Both passes number constants in the same order; the tables are emitted once, outside the branch.
        self.constants = constants
        gnu_types = [f"typedef {elem} v{lanes}_{elem} __attribute__((vector_size({lanes * size})));" for elem, lanes, size in vector_types]
        gnu_types += [vector_math_helpers(lanes) for lanes in sorted(self.vector_math)]
        struct_types = [f"typedef struct {{ {elem} lane[{lanes}]; }} v{lanes}_{elem};" for elem, lanes, size in vector_types]
        return (
            "\n".join(
                self.head() + constants + ["#if defined(__GNUC__) && !defined(LAMINA_PORTABLE_C)"] + gnu_types + functions + ["#else"] + struct_types + lanewise_functions + ["#endif"]
            )
            + "\n"
        )

    def emit_functions(self) -> list[str]:
        """Prototypes, then definitions, of every function in the module."""
        funcs = [op for op in self.module.ops if isinstance(op, func.FuncOp)]
        bodies = []
        protos = []
        for f in funcs:
            for arg in f.body.block.args:
                self.names[arg] = self.fresh("a")
            protos.append(self.prototype(f) + ";")
        for f in funcs:
            self.begin_function(f)
            self.lines = [self.prototype(f) + " {"]
            self.emit_block(f.body.block, 1)
            self.end_function(f)
            self.lines.append("}")
            bodies.append("\n".join(self.lines))
        return protos + bodies

    def lane(self, v: SSAValue, lane: int) -> str:
        """Lane `lane` of vector `v` (scalar operands, such as a select's condition, stand for every lane)."""
        if not isinstance(v.type, VectorType):
            return self.n(v)
        return f"{self.n(v)}.lane[{lane}]" if self.lanewise else f"{self.n(v)}[{lane}]"

    def begin_function(self, f: func.FuncOp) -> None:
        """Hook for targets that emit functions differently (GPU kernels)."""

    def end_function(self, f: func.FuncOp) -> None:
        """Hook, before the closing brace, for targets that wrap a function's body in `self.lines`."""

    def head(self) -> list[str]:
        head = [
            "/* Generated by lamina. Built as lamina builds it for the host that planned its schedules:",
            "   cc -std=c99 -O3 -march=native -ffp-contract=fast -fopenmp -shared -fPIC -o model.so model.c -lm",
            "   (without -march=native, GCC splits the wide vectors into SSE halves). */",
            "#include <math.h>",
            "#include <stdbool.h>",
            "#include <stdint.h>",
            "#include <string.h>",
        ]
        if self.openmp:
            head.append("#ifdef _OPENMP\n#include <omp.h>\n#endif")
        head.append(ALIGN_MACRO)
        if any(op.name == "device.prefetch" for op in self.module.walk()):
            head.append(PREFETCH_MACRO)
        if _mentions_f16(self.module):
            head.append('#if !defined(__GNUC__)\n#error "this model computes in float16, which needs a compiler with _Float16 (GCC or Clang)"\n#endif')
        return head

    def prototype(self, f: func.FuncOp) -> str:
        params = []
        for arg, t in zip(f.body.block.args, f.function_type.inputs.data):
            name = self.names[arg]
            if isinstance(t, BufferType):
                params.append(f"{self.ctype(t)}restrict {name}")
            else:
                params.append(f"{self.ctype(t)} {name}")
        params.append("const int64_t *restrict lamina_syms")
        return f"static void {mangle(f.sym_name.data)}({', '.join(params)})"

    # ------------------------------------------------------------ statements

    def line(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def emit_block(self, block: Block, depth: int) -> None:
        for op in block.ops:
            self.emit_op(op, depth)

    def define(self, op: Operation, depth: int, expr: str) -> None:
        r = op.results[0]
        name = self.fresh()
        self.names[r] = name
        self.line(depth, f"{self.ctype(r.type)} const {name} = {expr};")

    def dim(self, d: Dim) -> str:
        if isinstance(d, int):
            return str(d)
        terms = []
        for mono, coef in d.terms:
            factors = [str(coef)] + [f"lamina_syms[{self.symbols.index(s)}]" for s in mono]
            terms.append("*".join(factors))
        return "(" + " + ".join(terms) + ")" if terms else "0"

    def linear(self, buf: SSAValue, indices) -> str:
        t: BufferType = buf.type
        expr = None
        for d, i in zip(t.shape, indices):
            expr = self.n(i) if expr is None else f"({expr})*{self.dim(d)} + {self.n(i)}"
        return expr or "0"

    def emit_op(self, op: Operation, depth: int) -> None:
        name = op.name
        r = op.results
        if name == "func.return":
            self.line(depth, "return;")
        elif name == "device.for" or name == "device.parallel_for":
            iv = self.fresh("i")
            self.names[op.regions[0].block.args[0]] = iv
            lo, hi = (self.n(o) for o in op.operands)
            if name == "device.parallel_for" and self.openmp:
                self.line(depth, "#pragma omp parallel for schedule(static)")
            self.line(depth, f"for (int64_t {iv} = {lo}; {iv} < {hi}; {iv} += {op.attr('step')}) {{")
            self.emit_block(op.regions[0].block, depth + 1)
            self.line(depth, "}")
        elif name == "device.if":
            self.line(depth, f"if ({self.n(op.operands[0])}) {{")
            self.emit_block(op.regions[0].block, depth + 1)
            self.line(depth, "}")
        elif name == "device.call":
            args = ", ".join([self.n(o) for o in op.operands] + ["lamina_syms"])
            self.line(depth, f"{mangle(op.attr('callee'))}({args});")
        elif name == "device.load":
            self.define(op, depth, f"{self.n(op.operands[0])}[{self.linear(op.operands[0], op.operands[1:])}]")
        elif name == "device.prefetch":
            self.line(depth, f"LAMINA_PREFETCH(&{self.n(op.operands[0])}[{self.n(op.operands[1])}]);")
        elif name == "device.store":
            buf = op.operands[1]
            self.line(depth, f"{self.n(buf)}[{self.linear(buf, op.operands[2:])}] = {self.n(op.operands[0])};")
        elif name == "device.vload":
            buf = op.operands[0]
            if op.attr("stride") != 1:
                raise error_at(op, f"the c target loads vectors of consecutive elements only, not stride {op.attr('stride')}")
            name_ = self.fresh()
            self.names[r[0]] = name_
            if buf in self.vector_locals:
                self.line(depth, f"{self.ctype(r[0].type)} const {name_} = {self.n(buf)}[({self.linear(buf, op.operands[1:])}) / {self.vector_locals[buf]}];")
                return
            self.line(depth, f"{self.ctype(r[0].type)} {name_};")
            self.line(depth, f"memcpy(&{name_}, &{self.n(buf)}[{self.linear(buf, op.operands[1:])}], sizeof {name_});")
        elif name == "device.vstore":
            buf = op.operands[1]
            if buf in self.vector_locals:
                self.line(depth, f"{self.n(buf)}[({self.linear(buf, op.operands[2:])}) / {self.vector_locals[buf]}] = {self.n(op.operands[0])};")
                return
            self.line(depth, f"memcpy(&{self.n(buf)}[{self.linear(buf, op.operands[2:])}], &{self.n(op.operands[0])}, sizeof {self.n(op.operands[0])});")
        elif name == "device.alloca":
            t: BufferType = r[0].type
            arr = self.fresh("local")
            count = int(np.prod(t.shape)) if t.shape else 1
            vector = None if self.lanewise else vector_slots(r[0])
            if vector is not None:
                # GCC keeps an array of vectors indexed by constants in registers (a register
                # tile's accumulators); a float array written through memcpy stays in memory,
                # every multiply-add a load and a store (sgemm-256 ran 2.2x slower).
                (lanes,) = vector.get_shape()
                self.vector_locals[r[0]] = lanes
                self.line(depth, f"{self.ctype(vector)} {arr}[{count // lanes}];")
            else:
                self.line(depth, f"{c_scalar_type(t.element_type)} {arr}[{count}] {self.align};")
            self.names[r[0]] = arr
        elif name == "device.workspace_view":
            ws, off = op.operands
            self.define(op, depth, f"({self.ctype(r[0].type)})((uint8_t *){self.n(ws)} + {self.n(off)})")
        elif name == "device.const_buffer":
            self.emit_const_buffer(op, depth)
        elif name == "device.symbol":
            self.define(op, depth, f"lamina_syms[{self.symbols.index(op.attr('symbol'))}]")
        elif name == "device.broadcast":
            t = r[0].type
            (lanes,) = t.get_shape()
            s = self.n(op.operands[0])
            lanes_init = ", ".join([s] * lanes)
            self.define(op, depth, f"({self.ctype(t)}){{{{{lanes_init}}}}}" if self.lanewise else f"({self.ctype(t)}){{{lanes_init}}}")
        elif name == "device.fma":
            self.lane_map(op, depth, lambda a, b, c: f"{a} * {b} + {c}", vector_extension=True)
        elif name == "device.vreduce":
            self.emit_vreduce(op, depth)
        elif name == "arith.constant":
            self.define(op, depth, self.constant(op))
        elif name.startswith("arith.") or name.startswith("math."):
            self.emit_scalar(op, depth)
        else:
            raise error_at(op, f"the c target cannot emit '{name}'")

    def emit_const_buffer(self, op: Operation, depth: int) -> None:
        array = np.ascontiguousarray(op.attr("value"))
        t: BufferType = op.results[0].type
        cname = f"lamina_const_{len(self.constants)}"
        raw = array.view(np.uint8).ravel() if array.size else np.zeros(1, np.uint8)
        body = ",".join(str(int(b)) for b in raw)
        self.constants.append(f"static const uint8_t {cname}[{raw.size}] {self.align} = {{{body}}};")
        self.define(op, depth, f"({self.ctype(t)}){cname}")

    def emit_vreduce(self, op: Operation, depth: int) -> None:
        vector = op.operands[0]
        (lanes,) = vector.type.get_shape()
        kind = op.attr("kind")
        acc = self.fresh()
        self.names[op.results[0]] = acc
        self.line(depth, f"{self.ctype(op.results[0].type)} {acc} = {self.lane(vector, 0)};")
        for lane in range(1, lanes):
            v = self.lane(vector, lane)
            if kind == "add":
                self.line(depth, f"{acc} += {v};")
            elif kind == "mul":
                self.line(depth, f"{acc} *= {v};")
            else:
                cmp = ">" if kind == "max" else "<"
                self.line(depth, f"{acc} = ({v} {cmp} {acc} || {v} != {v}) ? {v} : {acc};")

    def constant(self, op: arith.ConstantOp) -> str:
        value = op.value
        t = op.result.type
        if isinstance(value, FloatAttr):
            x = value.value.data
            if pymath.isnan(x):
                text = "NAN"
            elif pymath.isinf(x):
                text = "INFINITY" if x > 0 else "-INFINITY"
            else:
                text = repr(float(x)) + ("f" if t == f32 else "")
            return f"({self.ctype(t)}){text}"
        if isinstance(value, IntegerAttr):
            v = value.value.data
            if isinstance(t, IntegerType) and t.width.data == 1:
                return "true" if v else "false"
            if v == -(2**63):
                # C has no literal for INT64_MIN: 9223372036854775808 itself does not fit in long long.
                return f"({self.ctype(t)})(-9223372036854775807LL - 1)"
            return f"({self.ctype(t)}){v}LL" if isinstance(t, (IndexType, IntegerType)) and abs(v) > 2**31 - 1 else f"({self.ctype(t)}){v}"
        raise error_at(op, f"the c target cannot emit the constant {value}")

    def emit_scalar(self, op: Operation, depth: int) -> None:
        name = op.name
        t = op.results[0].type if op.results else None
        if name == "arith.bitcast":
            tmp = self.fresh()
            self.names[op.results[0]] = tmp
            self.line(depth, f"{self.ctype(t)} {tmp}; memcpy(&{tmp}, &{self.n(op.operands[0])}, sizeof {tmp});")
            return
        if not isinstance(t, VectorType):
            self.define(op, depth, self.scalar_expr(op, [self.n(o) for o in op.operands], t))
            return
        if name in INTEGER_DIVISION:
            raise error_at(op, "the c target does not vectorize integer division")
        if not self.lanewise and name in VECTOR_MATH_HELPERS and t.element_type == f32:
            (lanes,) = t.get_shape()
            self.vector_math.add(lanes)
            self.define(op, depth, f"{helper_name(name, lanes)}({self.n(op.operands[0])})")
        elif not self.lanewise and name in CASTS:
            self.define(op, depth, f"__builtin_convertvector({self.n(op.operands[0])}, {self.ctype(t)})")
        elif not self.lanewise and (name in WHOLE_VECTOR or (name == "arith.select" and not isinstance(op.operands[0].type, VectorType))):
            self.define(op, depth, self.scalar_expr(op, [self.n(o) for o in op.operands], t.element_type))
        else:
            self.lane_map(op, depth, lambda *lanes: self.scalar_expr(op, list(lanes), t.element_type))

    def scalar_expr(self, op: Operation, args: list[str], t: Attribute) -> str:
        """The C expression computing `op` on scalar operands `args` (or on whole GCC vectors,
        for the ops in WHOLE_VECTOR) with a result of (element) type `t`."""
        name = op.name
        suffix = "f" if t == f32 else ""
        if name in C_BINARY:
            return f"{args[0]} {C_BINARY[name]} {args[1]}"
        if name == "arith.shrui":
            return f"({c_scalar_type(t)})(({unsigned_c_type(t)}){args[0]} >> {args[1]})"
        if name in ("arith.divui", "arith.remui"):
            ut = unsigned_c_type(t)
            a, b = f"({ut}){args[0]}", f"({ut}){args[1]}"
            return f"({c_scalar_type(t)})({args[1]} == 0 ? 0 : {a} {'/' if name == 'arith.divui' else '%'} {b})"
        if name in INTEGER_DIVISION:
            a, b = args
            if name == "arith.divsi":
                return f"({b} == 0 ? 0 : {a} / {b})"
            if name == "arith.remsi":
                return f"({b} == 0 ? 0 : {a} % {b})"
            if name == "arith.floordivsi":
                return f"({b} == 0 ? 0 : ({a} / {b} - (({a} % {b} != 0) && (({a} < 0) != ({b} < 0)))))"
            return f"({b} == 0 ? 0 : ({a} / {b} + (({a} % {b} != 0) && (({a} < 0) == ({b} < 0)))))"
        if name == "math.ipowi":
            a, b = args
            return f"({c_scalar_type(t)})pow((double){a}, (double)({b} < 0 ? 0 : {b}))"
        if name == "arith.negf":
            return f"-{args[0]}"
        if name == "math.rsqrt":
            return f"1{'.0f' if suffix else '.0'} / sqrt{suffix}({args[0]})"
        if name in ("arith.maximumf", "arith.minimumf"):
            cmp = ">" if "max" in name else "<"
            x, y = args
            return f"(({x}) != ({x}) || ({y}) != ({y})) ? (({x}) + ({y})) : (({x}) {cmp} ({y}) ? ({x}) : ({y}))"
        if name in ("arith.maxsi", "arith.minsi", "arith.maxui", "arith.minui"):
            cmp = ">" if "max" in name else "<"
            x, y = args
            if name.endswith("ui"):
                ut = unsigned_c_type(t)
                return f"((({ut})({x})) {cmp} (({ut})({y})) ? ({x}) : ({y}))"
            return f"(({x}) {cmp} ({y}) ? ({x}) : ({y}))"
        if name == "math.absi":
            return f"(({args[0]}) < 0 ? -({args[0]}) : ({args[0]}))"
        if name in C_MATH:
            return f"{C_MATH[name] + suffix}({', '.join(args)})"
        if name == "arith.cmpf":
            pred = op.predicate.value.data
            if pred in (0, 15):
                return "true" if pred == 15 else "false"
            if pred == 7:
                return f"({args[0]} == {args[0]} && {args[1]} == {args[1]})"
            if pred == 14:
                return f"({args[0]} != {args[0]} || {args[1]} != {args[1]})"
            cmp = f"({args[0]} {FCMP[pred]} {args[1]})"
            if pred == 6:
                cmp = f"({args[0]} < {args[1]} || {args[0]} > {args[1]})"
            if pred > 6 and pred != 13:  # unordered predicates also hold when either side is NaN
                cmp = f"({cmp} || {args[0]} != {args[0]} || {args[1]} != {args[1]})"
            return cmp
        if name == "arith.cmpi":
            pred = op.predicate.value.data
            a, b = args
            if pred >= 6:
                ut = unsigned_c_type(op.operands[0].type)
                a, b = f"({ut}){a}", f"({ut}){b}"
            return f"({a} {ICMP[pred]} {b})"
        if name == "arith.select":
            c, a, b = args
            return f"({c} ? {a} : {b})"
        if name in CASTS:
            if name == "arith.uitofp" or name == "arith.extui":
                return f"({self.scalar_ctype(t)})({unsigned_c_type(op.operands[0].type)}){args[0]}"
            return f"({self.scalar_ctype(t)}){args[0]}"
        raise error_at(op, f"the c target cannot emit '{name}'")

    def scalar_ctype(self, t: Attribute) -> str:
        """The C type of one lane of type `t` (i1 lanes of a vector are bytes, see vector_element_type)."""
        return self.ctype(t)

    def lane_map(self, op: Operation, depth: int, fn, vector_extension: bool = False) -> None:
        """Apply a scalar C expression lane by lane (C has no vector libm; plain C99 has no
        vectors at all). With `vector_extension`, GCC vectors take the expression whole."""
        t = op.results[0].type
        if not isinstance(t, VectorType) or (vector_extension and not self.lanewise):
            self.define(op, depth, fn(*[self.n(o) for o in op.operands]))
            return
        (lanes,) = t.get_shape()
        out = self.fresh()
        self.names[op.results[0]] = out
        self.line(depth, f"{self.ctype(t)} {out};")
        for lane in range(lanes):
            target = f"{out}.lane[{lane}]" if self.lanewise else f"{out}[{lane}]"
            self.line(depth, f"{target} = {fn(*[self.lane(o, lane) for o in op.operands])};")


def vector_slots(buffer: SSAValue) -> VectorType | None:
    """The vector type when every access of a local buffer is a load or store of that many
    consecutive elements (a vector store always is) at a multiple of its lanes, so that the
    buffer can be an array of vectors; else None."""
    t: BufferType = buffer.type
    vector = None
    for use in buffer.uses:
        op = use.operation
        if op.name == "device.vload" and use.index == 0:
            accessed, indices = op.results[0].type, op.operands[1:]
        elif op.name == "device.vstore" and use.index == 1:
            accessed, indices = op.operands[0].type, op.operands[2:]
        else:
            return None
        if (op.name == "device.vload" and op.attr("stride") != 1) or (vector is not None and accessed != vector):
            return None
        vector = accessed
        (lanes,) = vector.get_shape()
        if not indices or not _is_multiple(indices[-1], lanes):
            return None
    if vector is None or not t.shape or vector.element_type != t.element_type:
        return None
    (lanes,) = vector.get_shape()
    return vector if isinstance(t.shape[-1], int) and t.shape[-1] % lanes == 0 else None


def _is_multiple(index: SSAValue, factor: int, depth: int = 0) -> bool:
    """Whether `index` is provably a multiple of `factor`: a constant multiple, a loop variable
    that starts at a multiple and steps by a multiple, or sums and products of those."""
    if depth > 8:
        return False
    owner = index.owner
    if isinstance(owner, Block):
        loop = owner.parent_op()
        return (
            loop is not None
            and loop.name in ("device.for", "device.parallel_for")
            and owner.args[0] is index
            and int(loop.attr("step")) % factor == 0
            and _is_multiple(loop.operands[0], factor, depth + 1)
        )
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data % factor == 0
    if owner.name in ("arith.addi", "arith.subi"):
        return all(_is_multiple(o, factor, depth + 1) for o in owner.operands)
    if owner.name == "arith.muli":
        return any(_is_multiple(o, factor, depth + 1) for o in owner.operands)
    return False


def abi_functions(entry: func.FuncOp, signature: ModuleSignature, workspace: Dim | None, emitter: CEmitter) -> str:
    n_io = len(signature.inputs) + len(signature.outputs)
    text = signature.to_json().encode()
    meta = ", ".join(str(b) for b in text + b"\0")
    ws_expr = emitter.dim(workspace if workspace is not None else 0)
    args = []
    for k, t in enumerate(entry.function_type.inputs.data):
        ctype = emitter.ctype(t)
        args.append(f"({ctype})buffers[{k}]" if k < n_io else f"({ctype})workspace")
    call_args = ", ".join(args + ["lamina_syms"])
    lines = [
        f"int32_t lamina_abi_version(void) {{ return {ABI_VERSION}; }}",
        f"static const char lamina_metadata_text[] = {{{meta}}};",
        "const char *lamina_metadata(void) { return lamina_metadata_text; }",
        f"int64_t lamina_workspace_bytes(const int64_t *lamina_syms) {{ (void)lamina_syms; return {ws_expr}; }}",
        "int32_t lamina_run(void *const *buffers, const int64_t *lamina_syms, void *workspace, int32_t num_threads) {",
        "  (void)workspace; (void)buffers;",
        "#ifdef _OPENMP",
        "  if (num_threads > 0) omp_set_num_threads(num_threads);",
        "#else",
        "  (void)num_threads;",
        "#endif",
        f"  {mangle(entry.sym_name.data)}({call_args});",
        "  return 0;",
        "}",
    ]
    return "\n".join(lines) + "\n"


def emit_c_source(module: ModuleOp, entry: func.FuncOp, signature: ModuleSignature, workspace: Dim | None, openmp: bool = True) -> str:
    emitter = CEmitter(module, signature.symbols, openmp)
    body = emitter.emit()
    return body + abi_functions(entry, signature, workspace, emitter)
