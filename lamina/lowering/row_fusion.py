"""Row fusion: the nests of a softmax or a layer norm — row reductions and the elementwise work
between them, over the same rows — run as one nest, one row at a time.

    max:  for r: for c: top[r] max= x[r, c]           for r:
    exp:  for r: for c: e[r, c] = exp(x - top[r])  =>    for c: top[r] max= x[r, c]
    sum:  for r: for c: total[r] += e[r, c]               for c: e[r, c] = exp(x[r, c] - top[r])
    div:  for r: for c: out[r, c] = e / total[r]          for c: total[r] += e[r, c]
                                                          for c: out[r, c] = e[r, c] / total[r]

Each row's intermediates are still in L1 when the next step reads them, where separate nests
stream every intermediate through the caches once per step, and the threads fork once.

It is the schedule primitive compute_at, applied from the last nest backwards: each earlier
nest moves under the last one's innermost row loop (the loop just outside the last axis),
computing only that row. A group is a run of consecutive nests whose only block has the same
domain, the rows being every axis but the last, at least one of them a reduction. Whatever
compute_at refuses (a buffer read outside the group, a second writer) leaves the group as it was.
"""

from __future__ import annotations

from xdsl.ir import Operation

from lamina.ir.diagnostics import LaminaError
from lamina.lowering.elementwise_fusion import only_block
from lamina.schedule import Schedule


def _row_nest(nest: Operation) -> tuple[Operation, tuple] | None:
    """(its block, its domain) for a nest of one block iterating two or more axes, its loops
    in the domain's order (fresh from lowering), or None."""
    block = only_block(nest)
    if block is None or len(block.attr("domain")) < 2:
        return None
    chain = [nest]
    while True:
        inner = [op for op in chain[-1].regions[0].block.ops if op.name != "loop.yield"]
        if len(inner) == 1 and inner[0].name == "loop.for":
            chain.append(inner[0])
        elif len(inner) == 1 and inner[0] is block:
            break
        else:
            return None
    if list(block.operands) != [loop.regions[0].block.args[0] for loop in chain]:
        return None
    return block, tuple(block.attr("domain"))


def row_groups(nests: list[Operation], skip: set[str]) -> list[list[Operation]]:
    """Runs of consecutive row nests over one domain holding a reduction (see the module doc)."""
    groups: list[list[Operation]] = []
    current: list[tuple[Operation, Operation]] = []
    domain = None

    def close():
        if len(current) >= 2 and any("R" in block.attr("iter_kinds") for _, block in current):
            groups.append([block for _, block in current])

    for nest in nests:
        found = _row_nest(nest)
        if found is None or found[0].attr("label") in skip:
            close()
            current, domain = [], None
            continue
        block, dom = found
        if dom != domain:
            close()
            current, domain = [], dom
        current.append((nest, block))
    close()
    return groups


def fuse_rows(sch: Schedule, nests: list[Operation], skip: set[str]) -> list[str]:
    """Fuse every row group of `nests` (labels in `skip` excluded); returns the labels of the
    blocks whose nests now hold a fused group (each group's last block)."""
    anchors = []
    for group in row_groups(nests, skip):
        labels = [block.attr("label") for block in group]
        rank = len(group[-1].attr("domain"))
        try:
            with sch.transaction():
                for label in reversed(labels[:-1]):
                    rows = sch.get_loops(sch.get_block(labels[-1]))[rank - 2]
                    sch.compute_at(sch.get_block(label), rows)
        except LaminaError:
            continue
        anchors.append(labels[-1])
    return anchors


__all__ = ["fuse_rows", "row_groups"]
