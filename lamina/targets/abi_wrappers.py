"""The four ABI functions of `lamina.runtime.abi`, emitted in LLVM IR around a module's entry
function (inputs, outputs, then the workspace buffer when it has one)."""

from __future__ import annotations

import llvmlite.ir as ir
from xdsl.dialects import func

from lamina.ir.dims import Dim
from lamina.runtime.abi import ABI_VERSION, ModuleSignature
from lamina.targets.llvm_emitter import I8, I8P, I32, I64, LLVMEmitter, VOID, llvm_type


def add_abi_wrappers(em: LLVMEmitter, entry: func.FuncOp, signature: ModuleSignature, workspace: Dim | None) -> None:
    m = em.module
    version = ir.Function(m, ir.FunctionType(I32, []), name="lamina_abi_version")
    ir.IRBuilder(version.append_basic_block()).ret(ir.Constant(I32, ABI_VERSION))

    text = bytearray(signature.to_json().encode() + b"\0")
    meta_ty = ir.ArrayType(I8, len(text))
    meta = ir.GlobalVariable(m, meta_ty, name="lamina_metadata_text")
    meta.global_constant = True
    meta.linkage = "internal"
    meta.initializer = ir.Constant(meta_ty, text)
    get_meta = ir.Function(m, ir.FunctionType(I8P, []), name="lamina_metadata")
    b = ir.IRBuilder(get_meta.append_basic_block())
    b.ret(b.bitcast(meta, I8P))

    ws_fn = ir.Function(m, ir.FunctionType(I64, [I64.as_pointer()]), name="lamina_workspace_bytes")
    b = ir.IRBuilder(ws_fn.append_basic_block())
    b.ret(evaluate(b, workspace or 0, ws_fn.args[0], signature.symbols))

    run = ir.Function(m, ir.FunctionType(I32, [I8P.as_pointer(), I64.as_pointer(), I8P, I32]), name="lamina_run")
    buffers, syms, ws, threads = run.args
    b = ir.IRBuilder(run.append_basic_block())
    set_threads = ir.Function(m, ir.FunctionType(VOID, [I32]), name="omp_set_num_threads")
    with b.if_then(b.icmp_signed(">", threads, ir.Constant(I32, 0))):
        b.call(set_threads, [threads])
    target = em.functions[entry.sym_name.data]
    arg_types = entry.function_type.inputs.data
    n_io = len(signature.inputs) + len(signature.outputs)
    args = []
    for k, t in enumerate(arg_types):
        if k < n_io:
            raw = b.load(b.gep(buffers, [ir.Constant(I64, k)]))
        elif k == n_io and workspace is not None:
            raw = ws
        else:
            raise ValueError(f"entry argument #{k} of @{entry.sym_name.data} is neither a tensor nor the workspace")
        args.append(b.bitcast(raw, llvm_type(t)))
    b.call(target, args + [syms])
    b.ret(ir.Constant(I32, 0))


def evaluate(b: ir.IRBuilder, d: Dim, syms: ir.Value, order: tuple[str, ...]) -> ir.Value:
    if isinstance(d, int):
        return ir.Constant(I64, d)
    total = ir.Constant(I64, 0)
    for mono, coef in d.terms:
        term = ir.Constant(I64, coef)
        for s in mono:
            term = b.mul(term, b.load(b.gep(syms, [ir.Constant(I64, order.index(s))])))
        total = b.add(total, term)
    return total
