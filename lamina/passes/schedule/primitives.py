"""Running one schedule op: resolve its handle operands, apply the primitive, bind its results.

The pass (apply-schedule) and the Python API (lamina.schedule) both go through `apply_op`, so
a recorded trace replays exactly what the API did.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from xdsl.ir import Operation, SSAValue

from lamina.ir.diagnostics import error_at
from lamina.passes.schedule import annotate, loops as loop_prims
from lamina.passes.schedule.nest import enclosing_loops, erase_unused_index_math, top_level_ops
from lamina.passes.schedule.state import BlockHandle, Handle, LoopHandle, ScheduleState

Env = dict[SSAValue, Handle]


class Runner:
    """Applies schedule ops to one function, holding the handle environment."""

    def __init__(self, state: ScheduleState, seed: int = 0):
        self.state = state
        self.env: Env = {}
        self.rng = random.Random(seed)

    def handle(self, value: SSAValue, at: Operation) -> Handle:
        found = self.env.get(value)
        if found is None:
            raise error_at(at, "a handle operand is not defined by an earlier schedule op")
        return found

    def loop(self, value: SSAValue, at: Operation) -> Operation:
        return self.state.loop(self.handle(value, at), at)

    def block(self, value: SSAValue, at: Operation) -> Operation:
        return self.state.block(self.handle(value, at), at)

    def integer(self, value: SSAValue, at: Operation) -> int:
        return self.state.integer(self.handle(value, at), at)

    def apply(self, op: Operation) -> None:
        short = op.name.split(".", 1)[1]
        run = PRIMITIVES.get(short)
        if run is None:
            raise error_at(op, f"apply-schedule does not know '{op.name}'")
        results = run(self, op)
        if len(results) != len(op.results):
            raise error_at(op, f"'{op.name}' gives {len(results)} handles but {len(op.results)} results are bound")
        for value, handle in zip(op.results, results):
            self.env[value] = handle
        # Bound arithmetic of loops a primitive replaced is left unused at function level.
        erase_unused_index_math(top_level_ops(self.state.fn.body.block))


def _loops(handles: list[Operation]) -> list[Handle]:
    return [LoopHandle(l.attr("label")) for l in handles]


def _get_block(r: Runner, op) -> list[Handle]:
    block = r.state.block_named(op.attr("label"), op)
    return [BlockHandle(block.attr("label"))]


def _get_loops(r: Runner, op) -> list[Handle]:
    return _loops(enclosing_loops(r.block(op.operands[0], op)))


def _split(r: Runner, op) -> list[Handle]:
    loop = r.loop(op.operands[0], op)
    factors = op.attr("factors")
    factors = list(factors) if factors is not None else [r.integer(v, op) for v in op.operands[1:]]
    return _loops(loop_prims.split(r.state, loop, factors, op))


def _fuse(r: Runner, op) -> list[Handle]:
    return _loops([loop_prims.fuse(r.state, [r.loop(v, op) for v in op.operands], op)])


def _reorder(r: Runner, op) -> list[Handle]:
    loop_prims.reorder(r.state, [r.loop(v, op) for v in op.operands], op)
    return []


def _tile(r: Runner, op) -> list[Handle]:
    return _loops(loop_prims.tile(r.state, [r.loop(v, op) for v in op.operands], list(op.attr("sizes")), op))


def _parallel(r: Runner, op) -> list[Handle]:
    annotate.parallel(r.loop(op.operands[0], op), op)
    return []


def _vectorize(r: Runner, op) -> list[Handle]:
    annotate.vectorize(r.loop(op.operands[0], op), op.attr("lanes"), op)
    return []


def _unroll(r: Runner, op) -> list[Handle]:
    factor = op.attr("factor")
    if len(op.operands) > 1:
        factor = r.integer(op.operands[1], op)
    annotate.unroll(r.loop(op.operands[0], op), factor, op)
    return []


def _bind(r: Runner, op) -> list[Handle]:
    annotate.bind(r.loop(op.operands[0], op), op.attr("thread"), op)
    return []


PRIMITIVES: dict[str, Callable[[Runner, Operation], list[Handle]]] = {
    "get_block": _get_block,
    "get_loops": _get_loops,
    "split": _split,
    "fuse": _fuse,
    "reorder": _reorder,
    "tile": _tile,
    "parallel": _parallel,
    "vectorize": _vectorize,
    "unroll": _unroll,
    "bind": _bind,
}


def register(name: str):
    def add(fn):
        PRIMITIVES[name] = fn
        return fn

    return add


__all__ = ["PRIMITIVES", "Runner", "register"]

# The remaining primitive families register themselves on import.
from lamina.passes.schedule import cache, compute_at, inline, reduction, sampling  # noqa: E402,F401
