"""For the cuda target: each top-level loop nest becomes a kernel function launched from the
host function. Loops bound to GPU axes (`thread = "blockIdx.x"`, ...) turn into the block and
thread ids, guarded against the loop's upper bound; the launch takes its grid and block sizes
from those loops' (static) trip counts. A nest with no bound loop runs as one GPU thread.
"""

from __future__ import annotations

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, StringAttr, UnitAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects.device import Device
from lamina.ir.diagnostics import error_at
from lamina.ir.free_values import free_values
from lamina.ir.types import BufferType

INDEX = IndexType()
KERNEL_ATTR = "lamina.gpu_kernel"
AXES = {"blockIdx": "block_id", "threadIdx": "thread_id"}


def _static_trip(loop: Operation) -> int | None:
    lower, upper = (o.owner for o in loop.operands)
    if isinstance(lower, arith.ConstantOp) and isinstance(upper, arith.ConstantOp):
        step = loop.attr("step")
        return -(-(upper.value.value.data - lower.value.value.data) // step)
    return None


def outline_nest(lowerer, loop: Operation, em, kernels: list[func.FuncOp]) -> None:
    """Emit `loop` (a top-level loop.for) as a kernel plus a device.launch in `em`'s block."""
    grid = [1, 1, 1]
    block_dims = [1, 1, 1]
    for inner in loop.walk():
        if inner.name == "loop.for" and inner.attr("thread") is not None:
            kind, axis = inner.attr("thread").split(".")
            trips = _static_trip(inner)
            if trips is None:
                raise error_at(inner, f"a loop bound to {inner.attr('thread')} needs a static trip count for the launch")
            (grid if kind == "blockIdx" else block_dims)["xyz".index(axis)] = trips
    if block_dims[0] * block_dims[1] * block_dims[2] > 1024:
        raise error_at(loop, f"a CUDA block holds at most 1024 threads, the bound loops ask for {block_dims}")
    # Values the nest uses from outside become kernel parameters; index values computed on the
    # host (bounds, sizes) travel by value, buffers as device pointers.
    free = free_values(loop)
    params = [em.values[v] for v in free]
    kernel_block = Block(arg_types=[p.type for p in params])
    name = f"{lowerer.fn.sym_name.data}_kernel{len(kernels)}"
    from lamina.lowering.device_emitter import Emitter

    kem = Emitter(kernel_block, dict(em.values), {}, True)
    for v, arg in zip(free, kernel_block.args):
        kem.values[v] = arg
    lowerer.in_kernel = True
    try:
        lowerer.emit(loop, kem)
    finally:
        lowerer.in_kernel = False
    kernel_block.add_op(func.ReturnOp())
    kernel = func.FuncOp(name, ([p.type for p in params], []), Region(kernel_block), visibility="private")
    kernel.attributes[KERNEL_ATTR] = UnitAttr()
    kernels.append(kernel)
    em.add(Device["launch"].build(params, {"callee": name, "grid": grid, "block": block_dims}))


def emit_bound_loop(lowerer, op: Operation, em, lower: SSAValue, upper: SSAValue) -> None:
    """Inside a kernel: a loop bound to a GPU axis is one iteration per block/thread."""
    kind, axis = op.attr("thread").split(".")
    ident = em.add(Device[AXES[kind]].build([], {"dim": axis})).results[0]
    step = op.attr("step")
    offset = ident if step == 1 else em.add(arith.MuliOp(ident, em.index(step))).result
    iv = em.add(arith.AddiOp(lower, offset)).result
    inside = em.add(arith.CmpiOp(iv, upper, "slt")).result
    then = Block()
    em.add(Device["if"].build([inside], {}, regions=[Region(then)]))
    body = op.regions[0].block
    em.values[body.args[0]] = iv
    lowerer.emit_ops(body, em.nested(then))


__all__ = ["outline_nest", "emit_bound_loop", "KERNEL_ATTR", "BufferType", "IntegerAttr", "StringAttr"]
