"""LLVM IR text → optimised native code: in-process through MCJIT, or an object file for a
shared library. The host CPU name and features are always passed; without them x86 gets SSE."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

from collections.abc import Sequence

import llvmlite.binding as llvm
import numpy as np

from lamina.ir.diagnostics import LaminaError
from lamina.targets.host import host_target, initialize_llvm


def target_machine(reloc: str = "default", opt: int = 3) -> llvm.TargetMachine:
    initialize_llvm()
    host = host_target()
    target = llvm.Target.from_triple(host.triple)
    return target.create_target_machine(
        cpu=host.cpu, features=host.features, opt=opt, reloc=reloc, codemodel="jitdefault" if reloc == "default" else "default"
    )


def parse_and_optimize(ir_text: str, tm: llvm.TargetMachine, opt_level: int = 3) -> llvm.ModuleRef:
    try:
        module = llvm.parse_assembly(ir_text)
        module.verify()
    except RuntimeError as e:
        raise LaminaError(f"internal error: generated LLVM IR does not verify: {e}") from None
    module.triple = tm.triple
    module.data_layout = str(tm.target_data)
    if opt_level > 0:
        pto = llvm.create_pipeline_tuning_options(speed_level=opt_level)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_unrolling = True
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(module, pb)
    return module


@functools.cache
def load_openmp_runtime() -> bool:
    """Make libgomp's symbols visible to JIT-compiled code; False when the system has none."""
    name = ctypes.util.find_library("gomp") or "libgomp.so.1"
    try:
        llvm.load_library_permanently(name)
        ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
        return True
    except (OSError, RuntimeError):
        return False


class JitModule:
    """An optimised module loaded in this process; keeps the engine alive while addresses are in use.
    `constants` binds the module's external constant declarations (name, array) to copies of
    the arrays aligned as declared, kept alive with the engine."""

    def __init__(self, ir_text: str, opt_level: int = 3, constants: Sequence[tuple[str, np.ndarray]] = (), alignment: int = 64):
        load_openmp_runtime()
        self.tm = target_machine()
        self.module = parse_and_optimize(ir_text, self.tm, opt_level)
        self.constants = [aligned_bytes(array, alignment) for _, array in constants]
        for (name, _), data in zip(constants, self.constants):
            llvm.add_symbol(name, data.ctypes.data)
        self.engine = llvm.create_mcjit_compiler(self.module, self.tm)
        self.engine.finalize_object()
        self.engine.run_static_constructors()

    def address(self, name: str) -> int:
        addr = self.engine.get_function_address(name)
        if not addr:
            raise LaminaError(f"internal error: compiled module has no function '{name}'")
        return addr

    def assembly(self) -> str:
        return self.tm.emit_assembly(self.module)


def aligned_bytes(array: np.ndarray, alignment: int) -> np.ndarray:
    """The bytes of array at an address that is a multiple of `alignment` (itself when it is)."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    if flat.ctypes.data % alignment == 0:
        return flat
    raw = np.empty(flat.size + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    out = raw[start : start + flat.size]
    out[:] = flat
    return out


def emit_object(ir_text: str, opt_level: int = 3) -> bytes:
    tm = target_machine(reloc="pic")
    module = parse_and_optimize(ir_text, tm, opt_level)
    return tm.emit_object(module)
