"""The llvm target: a device-dialect module → optimised native code for this CPU, run in process
(MCJIT) or exported as a shared library with a C header."""

from __future__ import annotations

import itertools
import os

import numpy as np

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import Dim
from lamina.runtime.abi import ModuleSignature, c_header
from lamina.runtime.compiled_model import CompiledModel
from lamina.targets.abi_wrappers import add_abi_wrappers
from lamina.targets.linker import link_shared
from lamina.targets.llvm_backend import JitModule, emit_object
from lamina.targets.llvm_emitter import LLVMEmitter, constant_definitions
from lamina.tools.atomic_write import write_text_atomically

ENTRY_ATTR = "lamina.entry"


def entry_function(module: ModuleOp) -> func.FuncOp:
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    marked = [f for f in funcs if ENTRY_ATTR in f.attributes]
    if marked:
        return marked[0]
    named = [f for f in funcs if f.sym_name.data == "main"]
    if named:
        return named[0]
    if len(funcs) == 1:
        return funcs[0]
    raise LaminaError("the device module has no entry function (mark one with the 'lamina.entry' attribute)")


def llvm_ir(module: ModuleOp, signature: ModuleSignature, workspace: Dim | None = None, constant_prefix: str | None = None) -> tuple[str, list[tuple[str, np.ndarray]]]:
    """The module's LLVM IR text, and with `constant_prefix` its constant buffers as external
    declarations (name, array) to bind, rather than defined in the text."""
    emitter = LLVMEmitter(module, signature.symbols, signature.name, constant_prefix)
    emitter.emit()
    add_abi_wrappers(emitter, entry_function(module), signature, workspace)
    return emitter.module_text(), emitter.constant_arrays


def llvm_ir_text(module: ModuleOp, signature: ModuleSignature, workspace: Dim | None = None) -> str:
    return llvm_ir(module, signature, workspace)[0]


# Each JIT-compiled model binds its weights to symbols of this process: names must not repeat.
_JIT_MODELS = itertools.count()


class LLVMModel(CompiledModel):
    """A CompiledModel backed by code JIT-compiled in this process; exportable to a `.so`.
    `ir_text` declares the constant buffers that `constants` holds; `export` defines them."""

    def __init__(self, ir_text: str, signature: ModuleSignature, threads: int | None, opt_level: int = 3, constants: list[tuple[str, np.ndarray]] | None = None):
        jit = JitModule(ir_text, opt_level, constants or [])
        super().__init__(signature, jit.address("lamina_run"), jit.address("lamina_workspace_bytes"), jit, threads)
        self.ir_text = ir_text
        self.constants = constants or []
        self.opt_level = opt_level

    def assembly(self) -> str:
        return self._keep_alive.assembly()

    def export(self, path: str, header: bool = True) -> str:
        """Write a shared library (and `<name>.h` beside it); returns the library's path."""
        link_shared(path, objects=[emit_object(constant_definitions(self.ir_text, self.constants), self.opt_level)])
        if header:
            write_text_atomically(os.path.splitext(path)[0] + ".h", c_header(self.signature))
        return path


def build_llvm_model(
    module: ModuleOp, signature: ModuleSignature, threads: int | None = None, workspace: Dim | None = None, opt_level: int = 3
) -> LLVMModel:
    text, constants = llvm_ir(module, signature, workspace, constant_prefix=f"lamina_jit{next(_JIT_MODELS)}_const_")
    return LLVMModel(text, signature, threads, opt_level, constants)
