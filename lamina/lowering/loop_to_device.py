"""`lower-loop-to-device`: scheduled loop functions → the device dialect.

- `loop.for` with kind `parallel` (outermost only) → `device.parallel_for`, others → `device.for`;
  `unroll=k` → a loop of k body copies plus a remainder loop; `vectorize` → vector loads/stores
  over the loop with a scalar tail where the body allows it (`lamina.lowering.vectorize`), a
  scalar loop for LLVM's vectorizer otherwise.
- `loop.block` is inlined: its iterators become the bound values; the init region runs under a
  guard that every reduce iterator is zero.
- Global `loop.alloc`s become views into one workspace planned by liveness
  (`lamina.runtime.memory_plan`); local ones with static sizes live on the stack.
- `loop.size` becomes arithmetic over `device.symbol`s; `loop.const` a `device.const_buffer`.

The entry function gets one more argument, the workspace (`memref<W x ui8>`, W the planned
size, possibly symbolic); `lamina.workspace` on the module records W for the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects.device import Device
from lamina.dialects.loop import REDUCE
from lamina.ir.diagnostics import LaminaError, error_at
from lamina.ir.dims import Dim, dim_product, parse_dim
from lamina.ir.types import BufferType, i1, u8, numpy_dtype
from lamina.lowering.device_emitter import Emitter, emit_index_arith
from lamina.passes.schedule.nest import static_value
from lamina.runtime.memory_plan import BufferLife, MemoryPlan, plan_memory

WORKSPACE_ATTR = "lamina.workspace"
OUTPUTS_ATTR = "lamina.outputs"


def inline_block(op: Operation, em: Emitter, emit_ops) -> None:
    """A loop.block in place: its regions see the bound iterator values, and the init region
    runs under a guard that every reduce iterator is zero."""
    bindings = [em.values[o] for o in op.operands]
    init, body = op.regions[0].block, op.regions[1].block
    for region_block in (init, body):
        for a, b in zip(region_block.args, bindings):
            em.values[a] = b
    if any(o.name != "loop.yield" for o in init.ops):
        reduce_iters = [b for b, k in zip(bindings, op.attr("iter_kinds")) if k == REDUCE]
        if any(static_value(r) not in (0, None) for r in reduce_iters):
            emit_ops(body, em)  # an unrolled copy past the first: the init ran in the first
            return
        reduce_iters = [r for r in reduce_iters if static_value(r) is None]
        if reduce_iters:
            zero = em.index(0)
            cond = None
            for r in reduce_iters:
                test = em.add(arith.CmpiOp(r, zero, "eq")).result
                cond = test if cond is None else em.add(arith.AndIOp(cond, test)).result
            then = Block()
            em.add(Device["if"].build([cond], {}, regions=[Region(then)]))
            emit_ops(init, em.nested(then))
        else:
            emit_ops(init, em)
    emit_ops(body, em)


class LoopToDevice:
    def __init__(self, fn: func.FuncOp, is_entry: bool, target: str = "llvm"):
        self.fn = fn
        self.is_entry = is_entry
        self.target = target
        self.in_kernel = False
        self.kernels: list[func.FuncOp] = []
        self.plan: MemoryPlan | None = None
        self.workspace: SSAValue | None = None

    def run(self) -> func.FuncOp:
        src = self.fn.body.block
        arg_types = list(self.fn.function_type.inputs.data)
        allocs = self.global_allocs()
        self.plan = plan_memory([life for _, life in allocs]) if allocs else None
        workspace_size: Dim = self.plan.total if self.plan else 0
        if self.is_entry and self.plan is not None:
            arg_types.append(BufferType.of([workspace_size], u8))
        block = Block(arg_types=arg_types)
        values = dict(zip(src.args, block.args))
        if self.is_entry and self.plan is not None:
            self.workspace = block.args[-1]
        em = Emitter(block, values)
        self.alloc_names = {op.results[0]: life.name for op, life in allocs}
        self.emit_ops(src, em)
        if not block.ops or not isinstance(block.last_op, func.ReturnOp):
            block.add_op(func.ReturnOp())
        out = func.FuncOp(self.fn.sym_name.data, (arg_types, []), Region(block), visibility=self.fn.sym_visibility)
        for key, attr in self.fn.attributes.items():
            if key not in ("sym_name", "function_type", "sym_visibility"):
                out.attributes[key] = attr
        out.location = self.fn.location
        if self.plan is not None:
            out.attributes[WORKSPACE_ATTR] = StringAttr(str(workspace_size))
        return out

    # ------------------------------------------------------------ memory

    def global_allocs(self) -> list[tuple[Operation, BufferLife]]:
        top = list(self.fn.body.block.ops)
        position = {op: k for k, op in enumerate(top)}
        found = []
        for op in self.fn.walk():
            if op.name != "loop.alloc" or op.attr("scope") == "local" and op.results[0].type.is_static:
                continue
            t: BufferType = op.results[0].type
            # Dated by its uses, not by the alloc: the default schedule hoists every alloc to
            # the top of the function, which would make every buffer live from the start.
            steps = [self.top_index(use.operation, position) for use in op.results[0].uses]
            first, last = (min(steps), max(steps)) if steps else (self.top_index(op, position),) * 2
            size = dim_product([*t.shape, numpy_dtype(t.element_type).itemsize])
            found.append((op, BufferLife(f"buf{len(found)}", size, first, last)))
        return found

    @staticmethod
    def top_index(op: Operation, position: dict[Operation, int]) -> int:
        while op not in position:
            op = op.parent_op()
        return position[op]

    # ------------------------------------------------------------ ops

    def emit_ops(self, block: Block, em: Emitter) -> None:
        for op in block.ops:
            self.emit(op, em)

    def emit(self, op: Operation, em: Emitter) -> None:
        name = op.name
        v = em.values
        if name == "loop.yield":
            return
        if name == "func.return":
            em.add(func.ReturnOp())
            return
        if name == "loop.size":
            v[op.results[0]] = em.dim(parse_dim(op.attr("value")))
        elif name == "loop.const":
            v[op.results[0]] = em.add(Device["const_buffer"].build([], {"value": op.attr("value")})).results[0]
        elif name == "loop.alloc":
            self.emit_alloc(op, em)
        elif name == "loop.load":
            v[op.results[0]] = em.add(Device["load"].build([v[o] for o in op.operands])).results[0]
        elif name == "loop.store":
            em.add(Device["store"].build([v[o] for o in op.operands], {}))
        elif name == "loop.prefetch":
            em.add(Device["prefetch"].build([v[o] for o in op.operands], {}))
        elif name == "loop.if":
            then = Block()
            em.add(Device["if"].build([v[op.operands[0]]], {}, regions=[Region(then)]))
            self.emit_ops(op.regions[0].block, em.nested(then))
        elif name == "loop.for" and self.target == "cuda" and not self.in_kernel:
            from lamina.lowering.gpu_outline import outline_nest

            outline_nest(self, op, em, self.kernels)
        elif name == "loop.for":
            self.emit_for(op, em)
        elif name == "loop.block":
            self.emit_block(op, em)
        elif name.startswith("arith.") or name.startswith("math."):
            emit_index_arith(op, em)
        else:
            raise error_at(op, f"lower-loop-to-device cannot lower '{name}'")

    def emit_alloc(self, op: Operation, em: Emitter) -> None:
        t: BufferType = op.results[0].type
        if op.attr("scope") == "local" and t.is_static:
            v = em.add(Device["alloca"].build([], {"shape": list(t.shape), "element": t.element_type})).results[0]
        else:
            if self.workspace is None:
                raise error_at(op, "buffers outside the entry function need a static size and local scope")
            offset = em.dim(self.plan.offsets[self.alloc_names[op.results[0]]])
            v = em.add(Device["workspace_view"].build([self.workspace, offset], {"type": t})).results[0]
        em.values[op.results[0]] = v

    def emit_block(self, op: Operation, em: Emitter) -> None:
        inline_block(op, em, self.emit_ops)

    def emit_for(self, op: Operation, em: Emitter) -> None:
        lower, upper = (em.values[o] for o in op.operands)
        if self.in_kernel and op.attr("thread") is not None:
            from lamina.lowering.gpu_outline import emit_bound_loop

            emit_bound_loop(self, op, em, lower, upper)
            return
        step = op.attr("step")
        body = op.regions[0].block
        parallel = (op.attr("kind") == "parallel" or op.attr("thread") is not None) and not em.in_parallel
        unroll = op.attr("unroll") or 1
        if op.attr("vectorize") and not self.in_kernel:
            from lamina.lowering.vectorize import try_vectorize

            if try_vectorize(self, op, em, lower, upper):
                return
        if unroll > 1 and not parallel:
            self.emit_unrolled(op, em, lower, upper, step, unroll)
            return
        kind = "parallel_for" if parallel else "for"
        em.loop(lower, upper, step, lambda inner, iv: self.emit_body_at(body, inner, iv), kind)

    def emit_body_at(self, body: Block, em: Emitter, iv: SSAValue) -> None:
        em.values[body.args[0]] = iv
        self.emit_ops(body, em)

    def emit_unrolled(self, op, em: Emitter, lower, upper, step: int, factor: int) -> None:
        """for i in [lower, main_end) step step*factor: body(i), body(i+step), ...; then the
        remaining iterations one at a time."""
        body = op.regions[0].block
        main_end = em.whole_steps_end(lower, upper, step * factor)

        def copies(inner: Emitter, start: SSAValue) -> None:
            for k in range(factor):
                self.emit_body_at(body, inner, inner.addi(start, inner.index(k * step)))

        em.loop(lower, main_end, step * factor, copies)
        em.loop(main_end, upper, step, lambda tail, iv: self.emit_body_at(body, tail, iv))


def entry_of(module: ModuleOp) -> func.FuncOp | None:
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    with_outputs = [f for f in funcs if OUTPUTS_ATTR in f.attributes]
    return (with_outputs or funcs or [None])[0]


TARGETS = ("llvm", "c", "cuda")


def lower_module(module: ModuleOp, target: str = "llvm") -> None:
    if target not in TARGETS:
        raise LaminaError(f"lower-loop-to-device: unknown target '{target}' (targets: {', '.join(TARGETS)})")
    entry = entry_of(module)
    for fn in [op for op in module.ops if isinstance(op, func.FuncOp)]:
        lowerer = LoopToDevice(fn, fn is entry, target)
        new = lowerer.run()
        for kernel in lowerer.kernels:
            module.body.block.insert_op_before(kernel, fn)
        module.body.block.insert_op_before(new, fn)
        module.body.block.erase_op(fn)


@dataclass(frozen=True)
class LowerLoopToDevice(ModulePass):
    """Scheduled loop functions → device kernels with a C ABI (see lamina/lowering/loop_to_device.py)."""

    name = "lower-loop-to-device"
    target: str = "llvm"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lower_module(op, self.target)


__all__ = ["LowerLoopToDevice", "lower_module", "WORKSPACE_ATTR", "i1"]
