"""The values an op's regions use but do not define: what outlining a loop body or cloning a
nest elsewhere must pass in or recompute."""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue


def free_values(op: Operation, own_operands: bool = True) -> list[SSAValue]:
    """Values used inside op (and by op itself unless `own_operands` is False) that op and its
    regions do not define, in first-use order."""
    inside: set[SSAValue] = set()
    for inner in op.walk():
        inside.update(inner.results)
        for region in inner.regions:
            for block in region.blocks:
                inside.update(block.args)
    used = (o for inner in op.walk() if own_operands or inner is not op for o in inner.operands)
    return list(dict.fromkeys(v for v in used if v not in inside))


__all__ = ["free_values"]
