"""Every graph pass, and the default graph pipeline, keeps random programs valid and computing
the same results under the reference interpreter.

Random programs rarely contain `x*1` or a repeated subexpression, so `sprinkled_functions`
rewires some values of a random function through op chains the passes do rewrite (identity
arithmetic, inverse shape ops, duplicated ops, constant subexpressions, broadcasting zeros at
the outputs). The chains change what the program computes; that is fine, the property compares
each program with itself before and after the passes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import FunctionType, ModuleOp
from xdsl.ir import Operation, SSAValue

from lamina.dialects.graph import Graph
from lamina.dialects.registry import make_context
from lamina.interpreter.graph import run_function
from lamina.ir.diagnostics import LaminaError, capture_warnings
from lamina.ir.types import f32
from lamina.ir.verify import verify_op_tree
from lamina.passes.registry import available_passes
from lamina.testing import assert_results_match, graph_functions, inputs_for
from lamina.tools.opt import parse_pipeline_spec

GRAPH_PASSES = ["canonicalize", "fold-constants", "cse", "dce", "shape-infer"]
PIPELINES = [*GRAPH_PASSES, "split-conv-bias", "explicit-padding", "canonicalize,cse,fold-constants,dce"]


class Chain:
    """Ops built one after another from a value, to be inserted as a group."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def op(self, name: str, operands: list[SSAValue], attrs: dict | None = None) -> SSAValue:
        built = Graph[name].build(operands, attrs or {})
        self.ops.append(built)
        return built.results[0]

    def const(self, value: float, shape: tuple[int, ...] = ()) -> SSAValue:
        return self.op("const", [], {"value": np.full(shape, value, dtype=np.float32)})


def ones_shape(v: SSAValue) -> tuple[int, ...]:
    return (1,) * v.type.rank


# Type-preserving chains: (chain, v, draw) -> the value that replaces v.
REWIRINGS: list[Callable] = [
    lambda c, v, draw: c.op("add", [v, c.const(0.0)]),
    lambda c, v, draw: c.op("add", [c.const(0.0, ones_shape(v)), v]),
    lambda c, v, draw: c.op("sub", [v, c.const(0.0)]),
    lambda c, v, draw: c.op("mul", [v, c.const(1.0, ones_shape(v))]),
    lambda c, v, draw: c.op("mul", [c.const(1.0), v]),
    lambda c, v, draw: c.op("mul", [v, c.const(0.0)]),
    lambda c, v, draw: c.op("sub", [v, v]),
    lambda c, v, draw: c.op("div", [v, c.const(1.0)]),
    lambda c, v, draw: c.op("pow", [v, c.const(1.0)]),
    lambda c, v, draw: c.op("neg", [c.op("neg", [v])]),
    lambda c, v, draw: c.op("abs", [c.op("neg", [v])]),
    lambda c, v, draw: c.op("relu", [c.op("relu", [v])]),
    lambda c, v, draw: c.op("floor", [c.op("ceil", [v])]),
    lambda c, v, draw: c.op("maximum", [v, v]),
    lambda c, v, draw: c.op("add", [v, c.op("neg", [c.op("exp", [v])])]),
    lambda c, v, draw: c.op("sub", [v, c.op("neg", [c.const(0.5)])]),
    lambda c, v, draw: c.op("where", [c.op("less", [v, c.const(0.0)]), v, v]),
    lambda c, v, draw: c.op("broadcast_to", [c.op("broadcast_to", [v], {"shape": list(v.type.shape)})], {"shape": list(v.type.shape)}),
    lambda c, v, draw: c.op("squeeze", [c.op("unsqueeze", [v], {"axes": [0]})], {"axes": [0]}),
    lambda c, v, draw: c.op("reshape", [c.op("flatten", [v], {"axis": 1})], {"shape": list(v.type.shape)}),
    lambda c, v, draw: c.op("reshape", [v], {"shape": list(v.type.shape)}),
    lambda c, v, draw: c.op("broadcast_to", [c.op("cast", [v], {"to": f32})], {"shape": list(v.type.shape)}),
    lambda c, v, draw: transpose_round_trip(c, v, draw),
    lambda c, v, draw: c.op("pad", [c.op("clip", [v])], {"pads": [0] * (2 * v.type.rank)}),
    lambda c, v, draw: c.op("concat", [c.op("slice", [v], {"starts": [0], "ends": [1 << 30], "axes": [0]})], {"axis": 0}),
    # a constant subexpression fold-constants evaluates: v * exp(0) + (2 - 2)
    lambda c, v, draw: c.op("add", [c.op("mul", [v, c.op("exp", [c.const(0.0)])]), c.op("sub", [c.const(2.0), c.const(2.0)])]),
    # the same op twice, for cse
    lambda c, v, draw: c.op("add", [c.op("tanh", [v]), c.op("tanh", [v])]),
    lambda c, v, draw: c.op("mul", [c.op("add", [v, c.const(1.5)]), c.op("add", [v, c.const(1.5)])]),
]


def transpose_round_trip(c: Chain, v: SSAValue, draw) -> SSAValue:
    rank = v.type.rank
    first = draw(st.permutations(range(rank)))
    # the inverse order, or another one (rewired only when it keeps the type)
    second = draw(st.sampled_from([list(np.argsort(first)), draw(st.permutations(range(rank)))]))
    return c.op("transpose", [c.op("transpose", [v], {"perm": list(first)})], {"perm": [int(i) for i in second]})


def rewire(block, v: SSAValue, chain: Chain, result: SSAValue) -> None:
    owner = v.owner
    if isinstance(owner, Operation):
        block.insert_ops_after(chain.ops, owner)
    else:
        block.insert_ops_before(chain.ops, block.first_op)
    v.replace_uses_with_if(result, lambda use: use.operation not in chain.ops)


@st.composite
def sprinkled_functions(draw, max_ops: int = 5) -> ModuleOp:
    module = draw(graph_functions(max_ops=max_ops))
    fn = next(iter(module.ops))
    block = fn.body.block
    values = [*block.args, *(r for op in block.ops for r in op.results)]
    values = [v for v in values if getattr(v.type, "element_type", None) == f32 and not isinstance(v.owner, Graph["const"])]
    for _ in range(draw(st.integers(1, 4))):
        v = draw(st.sampled_from(values))
        chain = Chain()
        try:
            result = draw(st.sampled_from(REWIRINGS))(chain, v, draw)
        except LaminaError:
            continue  # attributes that do not fit v's shape: no rewiring
        if result.type == v.type:
            rewire(block, v, chain, result)
    ret = block.last_op
    out = ret.operands[0]
    if out.type.element_type == f32 and draw(st.booleans()):
        # x + zeros that broadcast to a bigger shape: canonicalize must keep the add
        chain = Chain()
        bigger = chain.op("add", [out, chain.const(0.0, (2, *ones_shape(out)))])
        block.insert_ops_before(chain.ops, ret)
        ret.operands = [bigger, *ret.operands[1:]]
        fn.function_type = FunctionType.from_lists(list(fn.function_type.inputs.data), [o.type for o in ret.operands])
    verify_op_tree(module, "after sprinkling")
    return module


SPECIAL_FLOATS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0], dtype=np.float32)


def with_special_values(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The same inputs with NaN, infinities and signed zeros spread in: the float rewrites that
    only hold for finite numbers (x*0 -> 0, x-x -> 0) must show up as different results."""
    out = []
    for a in arrays:
        a = a.copy()
        if np.issubdtype(a.dtype, np.floating) and a.size:
            flat = a.reshape(-1)
            flat[::2] = np.resize(SPECIAL_FLOATS, flat[::2].shape)
        out.append(a)
    return out


def check_pipeline(module: ModuleOp, pipeline: str) -> None:
    finite = inputs_for(module, seed=1)
    input_sets = [finite, with_special_values(finite)]
    with np.errstate(all="ignore"):
        before = [run_function(module, *inputs) for inputs in input_sets]
        with capture_warnings():  # a capped canonicalize may warn; the IR must still be right
            for p in parse_pipeline_spec(pipeline):
                p.apply(make_context(), module)
                verify_op_tree(module, f"after {p.name}")
        for inputs, expected in zip(input_sets, before):
            assert_results_match(expected, run_function(module, *inputs), rtol=1e-5, atol=1e-6)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_pipeline_keeps_validity_and_results(pipeline):
    @SETTINGS
    @given(graph_functions(max_ops=6))
    def check(module):
        check_pipeline(module, pipeline)

    check()


@pytest.mark.parametrize("pipeline", [*GRAPH_PASSES, "canonicalize,cse,fold-constants,dce"])
def test_rewritable_programs_keep_validity_and_results(pipeline):
    @SETTINGS
    @given(sprinkled_functions())
    def check(module):
        check_pipeline(module, pipeline)

    check()


def count_ops(module: ModuleOp) -> int:
    return sum(1 for op in module.walk() if op.name.startswith("graph."))


@SETTINGS
@given(sprinkled_functions())
def test_graph_pipeline_never_grows_programs_and_reaches_a_fixpoint(module):
    before = count_ops(module)
    passes = parse_pipeline_spec("canonicalize{max-iterations=20},cse,fold-constants,dce")
    with capture_warnings() as warnings:
        for p in passes:
            p.apply(make_context(), module)
    assert warnings == []
    assert count_ops(module) <= before
    once = count_ops(module)
    for p in passes:
        p.apply(make_context(), module)
    # a second round can only find what folding exposed to canonicalize; never more ops
    assert count_ops(module) <= once


def test_sprinkled_programs_exercise_the_passes():
    """Guards the property above against a generator whose chains never trigger a rewrite."""
    shrunk = []

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(sprinkled_functions())
    def collect(module):
        before = count_ops(module)
        available_passes()["canonicalize"]().apply(make_context(), module)
        shrunk.append(count_ops(module) < before)

    collect()
    assert sum(shrunk) >= len(shrunk) // 2


def test_registry_lists_the_graph_passes():
    assert set(GRAPH_PASSES) <= set(available_passes())
