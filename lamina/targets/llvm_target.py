"""The llvm target: a device-dialect module → optimised native code for this CPU, run in process
(MCJIT) or exported as a shared library with a C header."""

from __future__ import annotations

import os

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import Dim
from lamina.runtime.abi import ModuleSignature, c_header
from lamina.runtime.compiled_model import CompiledModel
from lamina.targets.abi_wrappers import add_abi_wrappers
from lamina.targets.linker import link_shared
from lamina.targets.llvm_backend import JitModule, emit_object
from lamina.targets.llvm_emitter import LLVMEmitter
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


def llvm_ir_text(module: ModuleOp, signature: ModuleSignature, workspace: Dim | None = None) -> str:
    emitter = LLVMEmitter(module, signature.symbols, signature.name)
    emitter.emit()
    add_abi_wrappers(emitter, entry_function(module), signature, workspace)
    return str(emitter.module)


class LLVMModel(CompiledModel):
    """A CompiledModel backed by code JIT-compiled in this process; exportable to a `.so`."""

    def __init__(self, ir_text: str, signature: ModuleSignature, threads: int | None, opt_level: int = 3):
        jit = JitModule(ir_text, opt_level)
        super().__init__(signature, jit.address("lamina_run"), jit.address("lamina_workspace_bytes"), jit, threads)
        self.ir_text = ir_text
        self.opt_level = opt_level

    def assembly(self) -> str:
        return self._keep_alive.assembly()

    def export(self, path: str, header: bool = True) -> str:
        """Write a shared library (and `<name>.h` beside it); returns the library's path."""
        link_shared(path, objects=[emit_object(self.ir_text, self.opt_level)])
        if header:
            write_text_atomically(os.path.splitext(path)[0] + ".h", c_header(self.signature))
        return path


def build_llvm_model(
    module: ModuleOp, signature: ModuleSignature, threads: int | None = None, workspace: Dim | None = None, opt_level: int = 3
) -> LLVMModel:
    return LLVMModel(llvm_ir_text(module, signature, workspace), signature, threads, opt_level)
