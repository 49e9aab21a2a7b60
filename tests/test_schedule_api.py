"""The Python Schedule API: every primitive keeps what the loop interpreter computes, the trace
prints, parses and replays to identical IR, refusals are LaminaErrors left out of the trace,
sampling is deterministic per seed, and a scheduled matmul compiles and runs natively."""

import numpy as np
import pytest

from lamina.dialects.registry import dialect_op_names
from lamina.interpreter.loop import run_function as run_loop
from lamina.ir.diagnostics import LaminaError
from lamina.ir.printer import print_module, print_op
from lamina.ir.verify import verify_op_tree
from lamina.lowering.graph_to_loop import lower_module
from lamina.parser import parse_module
from lamina.passes.schedule.apply_schedule import apply_schedules
from lamina.schedule import Schedule, apply_trace

CHAIN = """
func.func @f(%a: tensor<8x6xf32>, %b: tensor<6x5xf32>) -> tensor<8x5xf32> {
  %e = graph.exp %a : tensor<8x6xf32>
  %c = graph.matmul %e, %b : tensor<8x5xf32>
  %d = graph.relu %c : tensor<8x5xf32>
  func.return %d : tensor<8x5xf32>
}
"""

SYMBOLIC = """
func.func @f(%a: tensor<n x 6 x f32>, %b: tensor<6x5xf32>) -> tensor<n x 5 x f32> {
  %c = graph.matmul %a, %b : tensor<n x 5 x f32>
  %d = graph.tanh %c : tensor<n x 5 x f32>
  func.return %d : tensor<n x 5 x f32>
}
"""


def loop_module(text):
    module = parse_module(text)
    lower_module(module)
    return module


@pytest.fixture(scope="module")
def chain():
    return loop_module(CHAIN)


def inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, s).astype(np.float32) for s in shapes]


def assert_same_and_replays(original, sch, shapes):
    verify_op_tree(sch.module)
    args = inputs(shapes)
    for want, got in zip(run_loop(original, *args), run_loop(sch.module, *args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    reparsed = next(iter(parse_module(sch.trace_text()).ops))
    assert print_op(reparsed) == sch.trace_text()
    assert print_module(apply_trace(original, reparsed)) == print_module(sch.module)


def matmul_loops(sch):
    return sch.get_loops(sch.get_block("matmul"))


def s_split_reorder_fuse(sch):
    i, j, k = matmul_loops(sch)
    io, ii = sch.split(i, [None, 3])
    ko, ki = sch.split(k, [2, 3])
    sch.reorder(ko, io)
    sch.fuse(ii, j)
    sch.unroll(ki)


def s_tile_vectorize_parallel(sch):
    x, y = sch.get_loops(sch.get_block("relu"))
    xo, yo, xi, yi = sch.tile([x, y], [3, 2])
    sch.vectorize(yi)
    sch.parallel(xo)


def s_compute_at_split(sch):
    i, j, k = matmul_loops(sch)
    io, ii = sch.split(i, [None, 3])
    sch.compute_at(sch.get_block("exp"), io)


def s_reverse_compute_at(sch):
    i, j, k = matmul_loops(sch)
    sch.reverse_compute_at(sch.get_block("relu"), j)


def s_inline(sch):
    sch.compute_inline(sch.get_block("exp"))


def s_decompose(sch):
    i, j, k = matmul_loops(sch)
    ko, ki = sch.split(k, [None, 4])
    sch.decompose_reduction(sch.get_block("matmul"), ko)


def s_rfactor(sch):
    i, j, k = matmul_loops(sch)
    ko, ki = sch.split(k, [None, 3])
    rf = sch.rfactor(ki, factor_axis=2)
    assert rf.label == "matmul_rf"


def s_caches(sch):
    m = sch.get_block("matmul")
    sch.cache_read(m, 1)
    sch.cache_write(m, 0)


def s_sampling(sch):
    i, j, k = matmul_loops(sch)
    factors = sch.sample_perfect_tile(i, 3, max_innermost_factor=4)
    assert np.prod([int(f) for f in factors]) == 8 and int(factors[-1]) <= 4
    sch.split(i, factors)
    sch.unroll(k, sch.sample_categorical([1, 2, 3], [0.2, 0.3, 0.5]))


SCHEDULES = [
    s_split_reorder_fuse,
    s_tile_vectorize_parallel,
    s_compute_at_split,
    s_reverse_compute_at,
    s_inline,
    s_decompose,
    s_rfactor,
    s_caches,
    s_sampling,
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda f: f.__name__[2:])
def test_schedule_keeps_results_and_trace_replays(chain, schedule):
    sch = Schedule(chain)
    schedule(sch)
    assert_same_and_replays(chain, sch, [(8, 6), (6, 5)])


def test_schedule_works_on_a_copy(chain):
    before = print_module(chain)
    sch = Schedule(chain)
    s_split_reorder_fuse(sch)
    assert print_module(chain) == before
    assert print_module(sch.module) != before


def test_symbolic_sizes_split_and_compute_at():
    module = loop_module(SYMBOLIC)
    sch = Schedule(module)
    i, j, k = matmul_loops(sch)
    io, ii = sch.split(i, [None, 4])
    sch.reverse_compute_at(sch.get_block("tanh"), ii)
    verify_op_tree(sch.module)
    for n in (1, 4, 7):
        args = inputs([(n, 6), (6, 5)], seed=n)
        np.testing.assert_allclose(run_loop(sch.module, *args)[0], run_loop(module, *args)[0], rtol=1e-5, atol=1e-6)
    reparsed = next(iter(parse_module(sch.trace_text()).ops))
    assert print_module(apply_trace(module, reparsed)) == print_module(sch.module)


def test_rfactor_under_a_non_dividing_split_is_refused(chain):
    sch = Schedule(chain)
    i, j, k = matmul_loops(sch)
    ko, ki = sch.split(k, [None, 4])
    before = print_module(sch.module)
    with pytest.raises(LaminaError, match="would stay uninitialised"):
        sch.rfactor(ki)
    assert print_module(sch.module) == before


def test_refusal_is_left_out_of_the_trace(chain):
    sch = Schedule(chain)
    i, j, k = matmul_loops(sch)
    before = print_module(sch.module)
    with pytest.raises(LaminaError, match="cannot parallelize 'k': 'k' is a reduction loop"):
        sch.parallel(k)
    assert print_module(sch.module) == before
    assert "schedule.parallel" not in sch.trace_text()
    sch.parallel(i)
    assert "schedule.parallel" in sch.trace_text()


def test_sampling_is_deterministic_per_seed_and_recorded(chain):
    traces = []
    for seed in (0, 0, 1, 2, 3):
        sch = Schedule(chain, seed=seed)
        s_sampling(sch)
        traces.append(sch.trace_text())
        assert "decision = [" in traces[-1] and "decision = " in traces[-1].split("sample_categorical")[1]
    assert traces[0] == traces[1]
    assert len(set(traces)) > 1


def test_trace_in_the_same_file_applies_through_the_pass(chain):
    sch = Schedule(chain)
    s_compute_at_split(sch)
    text = print_module(chain) + "\n" + sch.trace_text()
    module = parse_module(text)
    apply_schedules(module)
    assert print_module(module) == print_module(sch.module)


def test_list_ops_names_every_primitive():
    names = dialect_op_names("schedule")
    for primitive in (
        "sequence get_block get_loops split fuse reorder tile parallel vectorize unroll bind compute_at reverse_compute_at "
        "compute_inline reverse_compute_inline cache_read cache_write decompose_reduction rfactor sample_perfect_tile sample_categorical"
    ).split():
        assert f"schedule.{primitive}" in names


def test_scheduled_matmul_compiles_and_runs_natively():
    pytest.importorskip("llvmlite")
    from lamina.ir.dims import parse_dim
    from lamina.lowering.loop_to_device import WORKSPACE_ATTR
    from lamina.lowering.loop_to_device import lower_module as lower_to_device
    from lamina.runtime.abi import ModuleSignature, TensorSpec
    from lamina.targets.llvm_target import build_llvm_model

    module = loop_module(
        """
func.func @main(%a: tensor<13x16xf32>, %b: tensor<16x20xf32>) -> tensor<13x20xf32> {
  %c = graph.matmul %a, %b : tensor<13x20xf32>
  func.return %c : tensor<13x20xf32>
}
"""
    )
    sch = Schedule(module)
    m = sch.get_block("matmul")
    i, j, k = sch.get_loops(m)
    io, ii = sch.split(i, [None, 4])
    jo, ji = sch.split(j, [None, 8])
    sch.reorder(io, jo, k, ii, ji)
    sch.decompose_reduction(m, k)
    sch.vectorize(ji)
    sch.unroll(ii)
    sch.parallel(io)
    args = inputs([(13, 16), (16, 20)])
    expected = run_loop(module, *args)[0]
    scheduled = sch.module
    np.testing.assert_allclose(run_loop(scheduled, *args)[0], expected, rtol=1e-5, atol=1e-5)
    lower_to_device(scheduled)
    verify_op_tree(scheduled)
    fn = next(iter(scheduled.ops))
    ws = fn.attributes.get(WORKSPACE_ATTR)
    f32 = np.dtype(np.float32)
    sig = ModuleSignature("main", (TensorSpec("a", f32, (13, 16)), TensorSpec("b", f32, (16, 20))), (TensorSpec("c", f32, (13, 20)),), ())
    model = build_llvm_model(scheduled, sig, threads=2, workspace=parse_dim(ws.data) if ws else None)
    np.testing.assert_allclose(model(*args)[0], args[0] @ args[1], rtol=1e-4, atol=1e-4)


def test_vectorize_in_fewer_lanes_is_recorded_replayed_and_lowered(chain):
    """`lanes` narrows a loop's vectors: the loop records it, the trace replays it, and code
    generation emits vectors of that many lanes with a scalar tail (5 columns: one of 4, then 1)."""
    from lamina.lowering.loop_to_device import lower_module as lower_to_device

    sch = Schedule(chain)
    x, y = sch.get_loops(sch.get_block("relu"))
    sch.vectorize(y, lanes=4)
    assert "lanes = 4" in sch.trace_text() and "lanes = 4" in print_module(sch.module)
    assert_same_and_replays(chain, sch, [(8, 6), (6, 5)])
    lowered = sch.module.clone()
    lower_to_device(lowered)
    # A vector store's width is its value's: the loads carry it.
    assert {op.attr("lanes") for op in lowered.walk() if op.name == "device.vload"} == {4}


@pytest.mark.parametrize("lanes", [0, 1, 3, 6])
def test_vectorize_refuses_lanes_that_are_not_a_power_of_two(chain, lanes):
    sch = Schedule(chain)
    x, y = sch.get_loops(sch.get_block("relu"))
    with pytest.raises(LaminaError, match=f"cannot vectorize 'i1_0' in {lanes} lanes: the lanes must be a power of two, at least 2"):
        sch.vectorize(y, lanes=lanes)
