"""Hypothesis strategies for pass authors: random well-typed graph functions and inputs for them.

    from lamina.testing import graph_functions, inputs_for
    @given(graph_functions(), st.randoms())
    def test_my_pass_keeps_semantics(module, rnd): ...

Functions take one or two inputs (static shapes, or a symbolic batch dim `n`), apply a random DAG
of ops drawn from the whole graph table (see graph_op_samples.SAMPLERS), and return one or two of
the values computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region, SSAValue

from lamina.dialects.graph import Graph
from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import evaluate_dim
from lamina.ir.types import TensorType, f32
from lamina.testing.graph_op_samples import SAMPLERS, SampleContext

FLOAT_OPS = tuple(name for name in SAMPLERS if name != "const")


@st.composite
def tensor_shapes(draw, symbolic: bool = True, max_rank: int = 4) -> list:
    rank = draw(st.integers(1, max_rank))
    dims: list[Any] = [draw(st.integers(1, 4)) for _ in range(rank)]
    if symbolic and draw(st.booleans()):
        dims[0] = "n"
    return dims


@st.composite
def graph_functions(draw, max_ops: int = 6, symbolic: bool = True, ops: tuple[str, ...] = FLOAT_OPS) -> ModuleOp:
    """A module holding one function `@main` built from random ops of the graph table."""
    shape = draw(tensor_shapes(symbolic))
    arg_types = [TensorType.of(shape, f32)]
    if draw(st.booleans()):
        arg_types.append(TensorType.of([1 if isinstance(d, str) or draw(st.booleans()) else d for d in shape], f32))
    block = Block(arg_types=arg_types)
    pool: list[SSAValue] = list(block.args)
    const_count = [0]

    def add_const(array: np.ndarray) -> SSAValue:
        op = Graph["const"].build([], {"value": array})
        op.results[0].name_hint = f"c{const_count[0]}"
        const_count[0] += 1
        block.add_op(op)
        return op.results[0]

    def emit(name: str, operands: list[SSAValue], attrs: dict[str, Any]) -> list[SSAValue]:
        op = Graph[name].build(operands, attrs)
        block.add_op(op)
        results = list(op.results)
        pool.extend(r for r in results if r.type.element_type == f32)
        return results

    ctx = SampleContext(add_const, emit, pool)
    produced: list[SSAValue] = []
    for _ in range(draw(st.integers(1, max_ops))):
        name = draw(st.sampled_from(ops))
        x = draw(st.sampled_from([v for v in pool if v.type.element_type == f32]))
        sample = SAMPLERS[name](draw, x, ctx)
        if sample is None:
            continue
        operands, attrs = sample
        try:
            produced.extend(emit(name, operands, attrs))
        except LaminaError:
            continue  # the drawn attributes do not fit this shape: skip the op
    if not produced:
        produced = emit("neg", [pool[0]], {})
    outputs = [produced[-1]]
    if len(produced) > 1 and draw(st.booleans()):
        outputs.insert(0, draw(st.sampled_from(produced[:-1])))
    block.add_op(func.ReturnOp(*outputs))
    fn = func.FuncOp("main", ([a.type for a in block.args], [o.type for o in outputs]), Region(block))
    return ModuleOp([fn])


def inputs_for(module_or_func, seed: int = 0, symbols: dict[str, int] | None = None) -> list[np.ndarray]:
    """Random inputs matching a function's argument types; symbolic dims take values from
    `symbols` (default 3)."""
    fn = module_or_func if isinstance(module_or_func, func.FuncOp) else next(iter(module_or_func.ops))
    rng = np.random.default_rng(seed)
    env: dict[str, int] = dict(symbols or {})
    out = []
    for arg in fn.body.block.args:
        t = arg.type
        for name in t.symbols():
            env.setdefault(name, 3)
        shape = tuple(evaluate_dim(d, env) for d in t.shape)
        if np.issubdtype(t.dtype, np.floating):
            out.append(rng.uniform(-2, 2, size=shape).astype(t.dtype))
        elif t.dtype == np.bool_:
            out.append(rng.random(shape) < 0.5)
        else:
            out.append(rng.integers(-4, 5, size=shape).astype(t.dtype))
    return out
