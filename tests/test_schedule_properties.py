"""Property tests: random graph functions lowered to loops, then random sequences of schedule
primitives drawn by hypothesis. Every primitive either refuses with a LaminaError or leaves IR
that verifies and that the loop interpreter runs to the same results (symbolic sizes at two
values); the recorded trace replays to identical IR."""

import numpy as np
from xdsl.context import Context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.interpreter.loop import compile_function
from lamina.ir.diagnostics import LaminaError
from lamina.ir.printer import print_module
from lamina.ir.verify import verify_op_tree
from lamina.lowering.graph_to_loop import lower_module
from lamina.parser import parse_module
from lamina.passes.loop.register_accumulators import RegisterAccumulators
from lamina.passes.loop.unswitch_guards import UnswitchGuards
from lamina.passes.schedule.nest import is_block
from lamina.schedule import Schedule, apply_trace
from lamina.testing import graph_functions, inputs_for

LOOP_PRIMITIVES = ("split", "fuse", "reorder", "tile", "parallel", "vectorize", "unroll", "bind")
BLOCK_PRIMITIVES = (
    "compute_at",
    "reverse_compute_at",
    "compute_inline",
    "reverse_compute_inline",
    "cache_read",
    "cache_write",
    "decompose_reduction",
    "rfactor",
)


def block_labels(sch: Schedule) -> list[str]:
    return [op.attr("label") for op in sch.func.walk() if is_block(op)]


def loop_kind(sch: Schedule, loop) -> str:
    return next(op.attr("kind") for op in sch.func.walk() if op.name == "loop.for" and op.attr("label") == loop.label)


def apply_random_primitive(sch: Schedule, data) -> None:
    labels = block_labels(sch)
    if not labels:
        return
    block = sch.get_block(data.draw(st.sampled_from(labels), label="block"))
    loops = sch.get_loops(block)
    name = data.draw(st.sampled_from(LOOP_PRIMITIVES + BLOCK_PRIMITIVES), label="primitive")
    pick = lambda: data.draw(st.sampled_from(loops), label="loop")  # noqa: E731
    if name in LOOP_PRIMITIVES and not loops:
        return
    if name == "split":
        factors = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=2), label="factors")
        at = data.draw(st.integers(0, len(factors)), label="inferred at")
        sch.split(pick(), factors[:at] + [None] + factors[at:])
    elif name in ("fuse", "reorder"):
        if len(loops) < 2:
            return
        chosen = data.draw(st.lists(st.sampled_from(loops), min_size=2, max_size=3, unique_by=lambda l: l.label), label="loops")
        if len(chosen) >= 2:
            getattr(sch, name)(*chosen)
    elif name == "tile":
        start = data.draw(st.integers(0, len(loops) - 1), label="first")
        chosen = loops[start : start + data.draw(st.integers(1, 2), label="count")]
        sch.tile(chosen, [data.draw(st.integers(1, 4), label="size") for _ in chosen])
    elif name in ("parallel", "vectorize"):
        getattr(sch, name)(pick())
    elif name == "unroll":
        sch.unroll(pick(), data.draw(st.integers(1, 4), label="factor"))
    elif name == "bind":
        sch.bind(pick(), data.draw(st.sampled_from(["blockIdx.x", "threadIdx.x"]), label="axis"))
    elif name in ("compute_at", "reverse_compute_at"):
        # A producer goes under a later block's loops, a consumer under an earlier one's.
        position = labels.index(block.label)
        others = labels[position + 1 :] if name == "compute_at" else labels[:position]
        if not others:
            return
        other = sch.get_block(data.draw(st.sampled_from(others), label="at block"))
        targets = sch.get_loops(other)
        if targets:
            getattr(sch, name)(block, data.draw(st.sampled_from(targets), label="at loop"))
    elif name in ("compute_inline", "reverse_compute_inline"):
        getattr(sch, name)(block)
    elif name in ("cache_read", "cache_write"):
        getattr(sch, name)(block, data.draw(st.integers(0, 2), label="index"))
    elif name == "decompose_reduction":
        if loops:
            sch.decompose_reduction(block, pick())
    elif name == "rfactor":
        reducing = [l for l in loops if loop_kind(sch, l) == "reduction"] or loops
        if reducing:
            sch.rfactor(data.draw(st.sampled_from(reducing), label="loop"), data.draw(st.integers(0, 1), label="axis"))


def run_all(compiled, inputs_list):
    return [compiled.run(inputs) for inputs in inputs_list]


def assert_unswitched_computes(sch: Schedule, expected, inputs_list) -> None:
    """The guards the schedule's splits left, unswitched, still compute the same; so does the
    function with its accumulators then moved to local tiles (register-accumulators)."""
    unswitched = sch.module.clone()
    UnswitchGuards().apply(Context(), unswitched)
    verify_op_tree(unswitched)
    promoted = unswitched.clone()
    RegisterAccumulators().apply(Context(), promoted)
    verify_op_tree(promoted)
    for stage, module in (("unswitched", unswitched), ("accumulators in local tiles", promoted)):
        for want_outputs, got_outputs in zip(expected, run_all(compile_function(module), inputs_list)):
            for want, out in zip(want_outputs, got_outputs):
                np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5, equal_nan=True, err_msg=f"{stage}:\n" + sch.trace_text())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(graph_functions(max_ops=4), st.data())
def test_random_schedules_refuse_or_preserve_results(graph, data):
    loops = graph.clone()
    lower_module(loops)
    verify_op_tree(loops)
    inputs_list = [inputs_for(graph, seed=k, symbols={"n": n}) for k, n in enumerate((2, 5))]
    expected = run_all(compile_function(loops), inputs_list)
    sch = Schedule(loops, seed=data.draw(st.integers(0, 3), label="seed"))
    for _ in range(data.draw(st.integers(1, 5), label="steps")):
        try:
            apply_random_primitive(sch, data)
        except LaminaError:
            continue  # a refusal; the schedule goes on from the unchanged function
    verify_op_tree(sch.module)
    got = run_all(compile_function(sch.module), inputs_list)
    for want_outputs, got_outputs in zip(expected, got):
        for want, out in zip(want_outputs, got_outputs):
            np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5, equal_nan=True, err_msg=sch.trace_text())
    replayed = apply_trace(loops, next(iter(parse_module(sch.trace_text()).ops)))
    assert print_module(replayed) == print_module(sch.module)
    assert_unswitched_computes(sch, expected, inputs_list)


MATMUL_CHAIN = """
func.func @main(%a: tensor<{m} x {k} x f32>, %b: tensor<{k} x {n} x f32>) -> tensor<{m} x {n} x f32> {{
  %x = graph.exp %a : tensor<{m} x {k} x f32>
  %c = graph.matmul %x, %b : tensor<{m} x {n} x f32>
  %d = graph.relu %c : tensor<{m} x {n} x f32>
  func.return %d : tensor<{m} x {n} x f32>
}}
"""


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["2", "5", "m"]),
    st.integers(1, 7),
    st.integers(1, 4),
    st.integers(1, 4),
    st.lists(st.sampled_from(["rfactor", "decompose", "compute_at", "reverse_compute_at", "reorder", "cache_write"]), min_size=1, max_size=3),
    st.data(),
)
def test_reduction_schedules_on_random_matmul_chains(m, k, n, split_by, steps, data):
    """Targets the reduction and compute-location primitives: split k (often not dividing),
    then rfactor / decompose / compute-at / reverse-compute-at at drawn loops."""
    graph = parse_module(MATMUL_CHAIN.format(m=m, k=k, n=n))
    loops = graph.clone()
    lower_module(loops)
    inputs_list = [inputs_for(graph, seed=s, symbols={"m": s + 1}) for s in (0, 3)]
    expected = run_all(compile_function(loops), inputs_list)
    sch = Schedule(loops)
    matmul = sch.get_block("matmul")
    i, j, kk = sch.get_loops(matmul)
    ko, ki = sch.split(kk, [None, split_by])
    for step in steps:
        current = sch.get_loops(matmul)
        loop = data.draw(st.sampled_from(current), label="loop")
        try:
            if step == "rfactor":
                sch.rfactor(data.draw(st.sampled_from([ko, ki]), label="reduce loop"), data.draw(st.integers(0, 2), label="axis"))
            elif step == "decompose":
                sch.decompose_reduction(matmul, loop)
            elif step == "compute_at":
                sch.compute_at(sch.get_block("exp"), loop)
            elif step == "reverse_compute_at":
                sch.reverse_compute_at(sch.get_block("relu"), loop)
            elif step == "reorder":
                sch.reorder(*data.draw(st.permutations(current), label="order"))
            else:
                sch.cache_write(matmul, 0)
        except LaminaError:
            continue
    verify_op_tree(sch.module)
    for want_outputs, got_outputs in zip(expected, run_all(compile_function(sch.module), inputs_list)):
        for want, out in zip(want_outputs, got_outputs):
            np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5, err_msg=sch.trace_text())
    replayed = apply_trace(loops, next(iter(parse_module(sch.trace_text()).ops)))
    assert print_module(replayed) == print_module(sch.module)
    assert_unswitched_computes(sch, expected, inputs_list)
