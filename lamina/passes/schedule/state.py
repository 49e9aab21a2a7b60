"""What a schedule sequence works on: the target function, and handles resolved by label.

A loop handle names a `loop.for` by its `label`, a block handle a `loop.block` by its `label`
(the same labels the printed IR shows); a value handle is a sampled integer. Labels are made
unique once, when scheduling of a function starts, so a label names exactly one loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import func
from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation

from lamina.ir.diagnostics import error_at
from lamina.passes.schedule.nest import is_block, is_loop


@dataclass(frozen=True)
class LoopHandle:
    label: str


@dataclass(frozen=True)
class BlockHandle:
    label: str


@dataclass(frozen=True)
class ValueHandle:
    value: int


Handle = LoopHandle | BlockHandle | ValueHandle


class ScheduleState:
    def __init__(self, fn: func.FuncOp):
        self.fn = fn
        self.uniquify_loop_labels()

    # -- labels

    def labels(self) -> set[str]:
        return {op.attr("label") for op in self.fn.walk() if is_loop(op) or is_block(op)}

    def uniquify_loop_labels(self) -> None:
        """Give every loop a label no other loop or block has; blocks keep theirs (their labels
        come from graph op names and are unique already)."""
        block_labels = {op.attr("label") for op in self.fn.walk() if is_block(op)}
        taken = set(block_labels)
        for op in self.fn.walk():
            if not is_loop(op):
                continue
            label = op.attr("label") or "loop"
            if label in taken:
                label = self.fresh_label(label, taken)
            taken.add(label)
            if label != op.attr("label"):
                op.properties["label"] = StringAttr(label)

    def fresh_label(self, base: str, taken: set[str] | None = None, bare: bool = False) -> str:
        """base_0, base_1, ... (TVM's naming of split loops); base itself first when bare."""
        taken = self.labels() if taken is None else taken
        if bare and base not in taken:
            return base
        k = 0
        while f"{base}_{k}" in taken:
            k += 1
        return f"{base}_{k}"

    def fresh_labels(self, base: str, count: int) -> list[str]:
        taken = self.labels()
        out = []
        for _ in range(count):
            label = self.fresh_label(base, taken)
            taken.add(label)
            out.append(label)
        return out

    # -- resolving handles

    def loop(self, handle: Handle, at: Operation) -> Operation:
        if not isinstance(handle, LoopHandle):
            raise error_at(at, f"expected a loop handle, got {describe(handle)}")
        for op in self.fn.walk():
            if is_loop(op) and op.attr("label") == handle.label:
                return op
        raise error_at(at, f"no loop labelled '{handle.label}' in @{self.fn.sym_name.data} (an earlier primitive replaced it)")

    def block(self, handle: Handle, at: Operation) -> Operation:
        if not isinstance(handle, BlockHandle):
            raise error_at(at, f"expected a block handle, got {describe(handle)}")
        return self.block_named(handle.label, at)

    def block_named(self, label: str, at: Operation) -> Operation:
        for op in self.fn.walk():
            if is_block(op) and op.attr("label") == label:
                return op
        known = sorted(op.attr("label") for op in self.fn.walk() if is_block(op))
        raise error_at(at, f"no block labelled '{label}' in @{self.fn.sym_name.data} (blocks: {', '.join(known) or 'none'})")

    def integer(self, handle: Handle, at: Operation) -> int:
        if not isinstance(handle, ValueHandle):
            raise error_at(at, f"expected a sampled integer, got {describe(handle)}")
        return handle.value


def describe(handle: Handle) -> str:
    if isinstance(handle, LoopHandle):
        return f"the loop '{handle.label}'"
    if isinstance(handle, BlockHandle):
        return f"the block '{handle.label}'"
    return f"the integer {handle.value}"


__all__ = ["BlockHandle", "Handle", "LoopHandle", "ScheduleState", "ValueHandle", "describe"]
