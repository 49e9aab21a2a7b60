"""The Python schedule API (TVM's `tir.Schedule`), recorded as schedule IR.

    sch = Schedule(loop_module)                 # works on a copy of the loop function
    i, j, k = sch.get_loops(sch.get_block("matmul"))
    io, ii = sch.split(i, [None, 8])
    sch.parallel(io)
    sch.module                                  # the scheduled IR
    sch.trace()                                 # the schedule.sequence that replays it

Every call builds the schedule op and applies it through the same code apply-schedule uses, so
applying `sch.trace()` to a fresh copy of the function gives identical IR. A call that refuses
raises LaminaError and is left out of the trace; the IR is unchanged only for refusals found
before rewriting, which is where every primitive checks its preconditions.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import IndexType, ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects.schedule import Schedule as ScheduleDialect
from lamina.ir.diagnostics import LaminaError
from lamina.ir.printer import print_op
from lamina.passes.schedule.nest import enclosing_loops
from lamina.passes.schedule.primitives import Runner
from lamina.passes.schedule.state import ScheduleState

INDEX = IndexType()


@dataclass(frozen=True)
class LoopRV:
    """A loop handle: the SSA value the trace binds it to, and the loop's label when made."""

    value: SSAValue
    label: str


@dataclass(frozen=True)
class BlockRV:
    value: SSAValue
    label: str


@dataclass(frozen=True)
class IntRV:
    """A sampled integer; usable wherever a split factor or unroll factor goes."""

    value: SSAValue
    decision: int

    def __int__(self) -> int:
        return self.decision


def _function(target: ModuleOp | func.FuncOp, name: str | None) -> func.FuncOp:
    if isinstance(target, func.FuncOp):
        return target
    fns = [op for op in target.ops if isinstance(op, func.FuncOp)]
    if name is not None:
        fns = [f for f in fns if f.sym_name.data == name]
    if len(fns) != 1:
        raise LaminaError(f"Schedule needs one loop function{' named @' + name if name else ''}; the module has {len(fns)}")
    return fns[0]


# Primitives that only look the IR up: nothing to restore when they refuse (a function's copy
# for each, outside transactions, was 0.4 s of ResNet-18's default schedule).
QUERIES = ("get_block", "get_loops")


class Schedule:
    def __init__(self, target: ModuleOp | func.FuncOp, name: str | None = None, seed: int = 0, copy: bool = True):
        """Schedules a copy of the function; with copy=False a detached function itself (a pass
        that replaces the function anyway saves the copy)."""
        fn = _function(target, name)
        if copy:
            fn = fn.clone()
        elif fn.parent is not None:
            raise LaminaError(f"Schedule(copy=False) needs a detached function; @{fn.sym_name.data} is in a module")
        self.module = ModuleOp([fn])
        self.func = fn
        self.runner = Runner(ScheduleState(fn), seed)
        self.sequence = ScheduleDialect["sequence"].build([], {"target": fn.sym_name.data}, [], [Region(Block())])
        self._transactions = 0

    # -- recording

    def _apply(self, name: str, operands: Sequence[SSAValue], attrs: dict | None = None, count: int | None = None) -> Operation:
        cls = ScheduleDialect[name]
        if count is not None:
            result_types = [INDEX] * count
        else:
            result_types = None if cls.ROW.infer is not None else []
        op = cls.build(list(operands), attrs or {}, result_types)
        body = self.sequence.regions[0].block
        body.add_op(op)
        if self._transactions or name in QUERIES:
            self.runner.apply(op)  # the enclosing transaction restores the IR on a refusal
            return op
        # A refusal found after rewriting began (e.g. tile's reorder) must not leave half a
        # primitive behind: the function is restored from this copy.
        backup = self.func.clone()
        try:
            self.runner.apply(op)
        except LaminaError:
            op.detach()
            op.erase()
            self._restore(backup)
            raise
        return op

    @contextmanager
    def transaction(self, nest: Operation | None = None):
        """Primitives inside either all apply or, when one refuses, none: the IR and the trace
        go back to where they were and the LaminaError propagates. With `nest` (a top-level
        loop of the function) only that nest is saved, which is cheap: the primitives inside
        must rewrite nothing else (split, fuse, reorder, annotations, decompose-reduction do
        not; what they add beside the nest, index constants, is removed with it)."""
        recorded = len(self.sequence.regions[0].block.ops)
        block = self.func.body.block
        if nest is not None:
            before, after = nest.prev_op, nest.next_op
            backup = nest.clone()
        else:
            backup = self.func.clone()
        self._transactions += 1
        try:
            yield self
            # The copy is not needed; erased, it stops counting as a user of the values it read.
            backup.erase(safe_erase=False)
        except LaminaError:
            for op in list(self.sequence.regions[0].block.ops)[recorded:][::-1]:
                op.detach()
                op.erase()
            if nest is None:
                self._restore(backup)
            else:
                self._restore_nest(block, before, after, backup)
            raise
        finally:
            self._transactions -= 1

    @contextmanager
    def without_copies(self):
        """Primitives inside apply without the copy each otherwise takes to undo a refusal
        found after rewriting began. Only for primitives that check every precondition first
        (all but tile): a refusal then leaves the IR as it was, and the LaminaError propagates."""
        self._transactions += 1
        try:
            yield self
        finally:
            self._transactions -= 1

    @staticmethod
    def _restore_nest(block: Block, before: Operation | None, after: Operation | None, backup: Operation) -> None:
        changed = []
        op = before.next_op if before is not None else block.first_op
        while op is not None and op is not after:
            changed.append(op)
            op = op.next_op
        for op in reversed(changed):
            op.detach()
            op.erase(safe_erase=False)
        if after is not None:
            block.insert_op_before(backup, after)
        else:
            block.add_op(backup)

    def _restore(self, backup: func.FuncOp) -> None:
        self.module.body.block.insert_op_before(backup, self.func)
        self.func.detach()
        self.func.erase()
        self.func = backup
        self.runner.state.fn = backup

    def _loop_rvs(self, op: Operation) -> list[LoopRV]:
        return [LoopRV(v, self.runner.env[v].label) for v in op.results]

    def _block_rv(self, op: Operation) -> BlockRV:
        return BlockRV(op.results[0], self.runner.env[op.results[0]].label)

    def trace(self) -> Operation:
        """The recorded schedule as a `schedule.sequence` op (a copy)."""
        return self.sequence.clone()

    def trace_text(self) -> str:
        return print_op(self.sequence)

    def text(self) -> str:
        return print_op(self.module)

    # -- lookups

    def get_block(self, label: str) -> BlockRV:
        return self._block_rv(self._apply("get_block", [], {"label": label}))

    def get_loops(self, block: BlockRV) -> list[LoopRV]:
        count = len(enclosing_loops(self.runner.block(block.value, self.sequence)))
        if count == 0:
            return []  # nothing to bind (and a result-less get_loops has no text form)
        return self._loop_rvs(self._apply("get_loops", [block.value], count=count))

    # -- loop structure

    def split(self, loop: LoopRV, factors: Sequence[int | None | IntRV]) -> list[LoopRV]:
        if any(isinstance(f, IntRV) for f in factors):
            if not all(isinstance(f, IntRV) for f in factors):
                raise LaminaError("split takes either integer factors or sampled factors, not a mix")
            return self._loop_rvs(self._apply("split", [loop.value, *(f.value for f in factors)]))
        return self._loop_rvs(self._apply("split", [loop.value], {"factors": [-1 if f is None else int(f) for f in factors]}))

    def fuse(self, *loops: LoopRV) -> LoopRV:
        return self._loop_rvs(self._apply("fuse", [l.value for l in loops]))[0]

    def reorder(self, *loops: LoopRV) -> None:
        self._apply("reorder", [l.value for l in loops])

    def tile(self, loops: Sequence[LoopRV], sizes: Sequence[int]) -> list[LoopRV]:
        return self._loop_rvs(self._apply("tile", [l.value for l in loops], {"sizes": list(sizes)}))

    # -- annotations

    def parallel(self, loop: LoopRV) -> None:
        self._apply("parallel", [loop.value])

    def vectorize(self, loop: LoopRV, lanes: int | None = None) -> None:
        self._apply("vectorize", [loop.value], {"lanes": lanes})

    def unroll(self, loop: LoopRV, factor: int | IntRV | None = None) -> None:
        if isinstance(factor, IntRV):
            self._apply("unroll", [loop.value, factor.value])
        else:
            self._apply("unroll", [loop.value], {"factor": factor})

    def bind(self, loop: LoopRV, thread: str) -> None:
        self._apply("bind", [loop.value], {"thread": thread})

    # -- compute location

    def compute_at(self, block: BlockRV, loop: LoopRV) -> None:
        self._apply("compute_at", [block.value, loop.value])

    def reverse_compute_at(self, block: BlockRV, loop: LoopRV) -> None:
        self._apply("reverse_compute_at", [block.value, loop.value])

    def compute_inline(self, block: BlockRV) -> None:
        self._apply("compute_inline", [block.value])

    def reverse_compute_inline(self, block: BlockRV) -> None:
        self._apply("reverse_compute_inline", [block.value])

    # -- buffers and reductions

    def cache_read(self, block: BlockRV, read_index: int, scope: str = "local") -> BlockRV:
        return self._block_rv(self._apply("cache_read", [block.value], {"index": read_index, "scope": scope}))

    def cache_write(self, block: BlockRV, write_index: int, scope: str = "local") -> BlockRV:
        return self._block_rv(self._apply("cache_write", [block.value], {"index": write_index, "scope": scope}))

    def decompose_reduction(self, block: BlockRV, loop: LoopRV) -> BlockRV:
        return self._block_rv(self._apply("decompose_reduction", [block.value, loop.value]))

    def rfactor(self, loop: LoopRV, factor_axis: int = 0) -> BlockRV:
        return self._block_rv(self._apply("rfactor", [loop.value], {"factor_axis": factor_axis}))

    # -- sampling (decisions are recorded in the trace)

    def sample_perfect_tile(self, loop: LoopRV, n: int, max_innermost_factor: int = 16) -> list[IntRV]:
        op = self._apply("sample_perfect_tile", [loop.value], {"n": n, "max_innermost_factor": max_innermost_factor})
        return [IntRV(v, self.runner.env[v].value) for v in op.results]

    def sample_categorical(self, candidates: Sequence[int], probs: Sequence[float] | None = None) -> IntRV:
        op = self._apply("sample_categorical", [], {"candidates": list(candidates), "probs": None if probs is None else list(probs)})
        return IntRV(op.results[0], self.runner.env[op.results[0]].value)


def apply_trace(target: ModuleOp | func.FuncOp, sequence: Operation, name: str | None = None) -> ModuleOp:
    """A copy of the function with a recorded (or parsed) schedule.sequence applied."""
    from lamina.passes.schedule.apply_schedule import apply_sequence

    fn = _function(target, name).clone()
    module = ModuleOp([fn])
    apply_sequence(fn, sequence)
    return module


__all__ = ["BlockRV", "IntRV", "LoopRV", "Schedule", "apply_trace"]
