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
    """The function a schedule rewrites, and its handles resolved by label.

    Lookups go through an index of label -> op, checked on use (the op must still sit in the
    function under that label) and rebuilt by one walk when stale, so a schedule of many
    primitives over a large function does not walk it once per handle."""

    def __init__(self, fn: func.FuncOp):
        self.fn = fn
        self.uniquify_loop_labels()
        self._reindex()

    @property
    def fn(self) -> func.FuncOp:
        return self._fn

    @fn.setter
    def fn(self, fn: func.FuncOp) -> None:
        self._fn = fn
        self._where: dict[str, Operation] = {}
        self._labels: set[str] = set()
        self._reindex()

    def _reindex(self) -> None:
        self._where = {op.attr("label"): op for op in _ops_with_regions(self._fn) if is_loop(op) or is_block(op)}
        self._labels |= set(self._where)

    def _find(self, label: str, wanted) -> Operation | None:
        op = self._where.get(label)
        if op is None or not wanted(op) or op.attr("label") != label or not self._inside(op):
            self._reindex()
            op = self._where.get(label)
        return op if op is not None and wanted(op) else None

    def _inside(self, op: Operation) -> bool:
        node = op.parent_op()
        while node is not None and node is not self._fn:
            node = node.parent_op()
        return node is self._fn

    # -- labels

    def labels(self) -> set[str]:
        """Every label in use or handed out (a superset is fine: fresh labels only avoid them)."""
        return self._labels

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
            label = base
        else:
            k = 0
            while f"{base}_{k}" in taken:
                k += 1
            label = f"{base}_{k}"
        self._labels.add(label)
        return label

    def fresh_labels(self, base: str, count: int) -> list[str]:
        taken = set(self.labels())
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
        op = self._find(handle.label, is_loop)
        if op is not None:
            return op
        raise error_at(at, f"no loop labelled '{handle.label}' in @{self.fn.sym_name.data} (an earlier primitive replaced it)")

    def block(self, handle: Handle, at: Operation) -> Operation:
        if not isinstance(handle, BlockHandle):
            raise error_at(at, f"expected a block handle, got {describe(handle)}")
        return self.block_named(handle.label, at)

    def block_named(self, label: str, at: Operation) -> Operation:
        op = self._find(label, is_block)
        if op is not None:
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


def _ops_with_regions(root: Operation) -> list[Operation]:
    """root's nested ops that have regions, in walk order. Loops and blocks are such ops; the
    scalar math that is most of a function is stepped over, not descended into (a full walk per
    reindex made scheduling a large model quadratic in its size)."""
    found: list[Operation] = []

    def visit(op: Operation) -> None:
        for region in op.regions:
            for block in region.blocks:
                for child in block.ops:
                    if child.regions:
                        found.append(child)
                        visit(child)

    visit(root)
    return found


__all__ = ["BlockHandle", "Handle", "LoopHandle", "ScheduleState", "ValueHandle", "describe"]
