"""`apply-schedule`: run every `schedule.sequence` of a module on its target function, in order,
then remove the sequences. A primitive that refuses stops the pass with a diagnostic at its
schedule op; the function is verified after each sequence."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from lamina.ir.diagnostics import error_at
from lamina.passes.schedule.primitives import Runner
from lamina.passes.schedule.state import ScheduleState


def find_target(module: ModuleOp, sequence: Operation) -> func.FuncOp:
    name = sequence.attr("target")
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_name.data == name:
            return op
    raise error_at(sequence, f"schedule.sequence targets @{name}, which is not a function of this module")


def apply_sequence(fn: func.FuncOp, sequence: Operation, seed: int = 0) -> Runner:
    runner = Runner(ScheduleState(fn), seed)
    for op in sequence.regions[0].block.ops:
        runner.apply(op)
    try:
        fn.verify()
    except VerifyException as e:
        raise error_at(sequence, f"the scheduled function does not verify: {e}") from None
    return runner


def apply_schedules(module: ModuleOp) -> None:
    sequences = [op for op in module.ops if op.name == "schedule.sequence"]
    for sequence in sequences:
        apply_sequence(find_target(module, sequence), sequence)
    for sequence in sequences:
        sequence.detach()
        sequence.erase()


@dataclass(frozen=True)
class ApplySchedule(ModulePass):
    """Apply every schedule.sequence to the loop function it names, then drop the sequences."""

    name = "apply-schedule"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        apply_schedules(op)


__all__ = ["ApplySchedule", "apply_schedules", "apply_sequence", "find_target"]
