"""Static memory plan: intermediate buffers of one entry point share a single workspace,
reusing space by liveness.

Static sizes are packed first-fit into byte offsets. Sizes that depend on symbolic dims cannot be
ordered in general (`2*n` against `n+5`), so a symbolic buffer only reuses a slot whose size is
the very same polynomial; each slot then sits at an offset that is a polynomial too, evaluated
by the entry point once the symbols are known.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lamina.ir.dims import Dim, dim_add, evaluate_dim, is_static

ALIGNMENT = 64  # one cache line; also satisfies every vector load the kernels emit


def align_up(n: int, alignment: int = ALIGNMENT) -> int:
    return (n + alignment - 1) // alignment * alignment


@dataclass(frozen=True)
class BufferLife:
    """One intermediate buffer: its size in bytes and the first and last step that use it."""

    name: str
    size: Dim
    first_use: int
    last_use: int


@dataclass
class MemoryPlan:
    offsets: dict[str, Dim] = field(default_factory=dict)
    total: Dim = 0
    # Bytes the buffers would take without reuse, to report what planning saved.
    unplanned_total: Dim = 0

    def offset_of(self, name: str, symbols: dict[str, int] | None = None) -> int:
        return evaluate_dim(self.offsets[name], symbols or {})

    def peak_bytes(self, symbols: dict[str, int] | None = None) -> int:
        return evaluate_dim(self.total, symbols or {})


def plan_memory(buffers: list[BufferLife]) -> MemoryPlan:
    plan = MemoryPlan()
    static = [b for b in buffers if is_static(b.size)]
    symbolic = [b for b in buffers if not is_static(b.size)]
    static_end = _first_fit(static, plan)
    plan.total = static_end
    slot_end = _symbolic_slots(symbolic, plan, static_end)
    plan.total = slot_end
    unplanned: Dim = 0
    for b in buffers:
        unplanned = dim_add(unplanned, _aligned(b.size))
    plan.unplanned_total = unplanned
    return plan


def _aligned(size: Dim) -> Dim:
    if is_static(size):
        return align_up(size)
    # Symbolic sizes are multiples of their element size; pad by a full line to keep the next
    # slot aligned whatever the symbols are.
    return dim_add(size, ALIGNMENT)


def _first_fit(buffers: list[BufferLife], plan: MemoryPlan) -> int:
    """Largest buffers first, each at the lowest offset not overlapping a buffer alive with it."""
    placed: list[tuple[int, int, BufferLife]] = []
    end = 0
    for b in sorted(buffers, key=lambda b: (-b.size, b.first_use, b.name)):
        size = align_up(b.size)
        busy = sorted(
            (start, stop)
            for start, stop, other in placed
            if not (other.last_use < b.first_use or b.last_use < other.first_use)
        )
        offset = 0
        for start, stop in busy:
            if offset + size <= start:
                break
            offset = max(offset, stop)
        placed.append((offset, offset + size, b))
        plan.offsets[b.name] = offset
        end = max(end, offset + size)
    return end


def _symbolic_slots(buffers: list[BufferLife], plan: MemoryPlan, base: Dim) -> Dim:
    slots: list[tuple[Dim, Dim, list[BufferLife]]] = []  # (offset, size, occupants)
    end = base
    for b in sorted(buffers, key=lambda b: (b.first_use, b.name)):
        size = _aligned(b.size)
        for offset, slot_size, occupants in slots:
            if slot_size == size and all(o.last_use < b.first_use or b.last_use < o.first_use for o in occupants):
                occupants.append(b)
                plan.offsets[b.name] = offset
                break
        else:
            slots.append((end, size, [b]))
            plan.offsets[b.name] = end
            end = dim_add(end, size)
    return end
