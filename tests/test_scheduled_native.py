"""Random schedules on random loop nests, compiled: a random graph function is lowered to loops,
hypothesis draws a sequence of schedule primitives (refusals skipped), and the scheduled
program compiled for the llvm target (and a share for the c target) computes what the loop
interpreter computes on the scheduled IR, at two values of the symbolic size. Also: the thread
count a model is given reaches the OpenMP runtime that runs its parallel loops."""

import ctypes
import ctypes.util
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from test_schedule_properties import apply_random_primitive

import lamina
from lamina.compiler import graph_function, run_passes, signature_of
from lamina.interpreter.loop import compile_function
from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import parse_dim
from lamina.ir.verify import verify_op_tree
from lamina.lowering.graph_to_loop import lower_module
from lamina.lowering.loop_to_device import WORKSPACE_ATTR
from lamina.runtime.abi import ModuleSignature
from lamina.schedule import Schedule
from lamina.targets.c_target import build_c_model
from lamina.targets.llvm_target import ENTRY_ATTR, build_llvm_model
from lamina.testing import graph_functions, inputs_for
from xdsl.dialects import func
from xdsl.dialects.builtin import StringAttr


def compile_scheduled(loops, signature: ModuleSignature, target: str):
    """The scheduled loop module through lower-loop-to-device and a CPU target, as `lamina.compile`
    does after its own default schedule."""
    device = loops.clone()
    run_passes(device, [f"lower-loop-to-device{{target={target}}}"])
    entry = next(op for op in device.ops if isinstance(op, func.FuncOp) and op.sym_name.data == signature.name)
    entry.attributes[ENTRY_ATTR] = StringAttr("")
    ws = entry.attributes.get(WORKSPACE_ATTR)
    workspace = parse_dim(ws.data) if ws is not None else None
    signature = ModuleSignature(signature.name, signature.inputs, signature.outputs, signature.symbols, str(workspace or 0))
    build = build_c_model if target == "c" else build_llvm_model
    return build(device, signature, threads=2, workspace=workspace)


def without_gpu_bindings(sch: Schedule, data) -> None:
    """One random primitive, except `bind`: CPU targets refuse GPU-bound loops by design."""
    before = sch.trace_text()
    apply_random_primitive(sch, data)
    if "schedule.bind" in sch.trace_text() and "schedule.bind" not in before:
        raise LaminaError("bind is for the cuda target")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=3), st.data())
def test_random_schedules_compile_to_what_the_loop_interpreter_computes(graph, data):
    signature = signature_of(graph_function(graph))
    loops = graph.clone()
    lower_module(loops)
    sch = Schedule(loops, seed=data.draw(st.integers(0, 3), label="seed"))
    for _ in range(data.draw(st.integers(1, 5), label="steps")):
        try:
            with sch.transaction():
                without_gpu_bindings(sch, data)
        except LaminaError:
            continue  # refused: the function is as it was before the primitive
    scheduled = sch.module
    verify_op_tree(scheduled)
    note(sch.trace_text())
    target = data.draw(st.sampled_from(["llvm", "llvm", "llvm", "c"]), label="target")
    model = compile_scheduled(scheduled, signature, target)
    interpreter = compile_function(scheduled)
    for seed, n in enumerate((2, 5)):
        inputs = inputs_for(graph, seed=seed, symbols={"n": n})
        want = interpreter.run(inputs)
        got = model(*inputs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            if np.issubdtype(w.dtype, np.floating):
                np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5, equal_nan=True, err_msg=sch.trace_text())
            else:
                np.testing.assert_array_equal(g, w, err_msg=sch.trace_text())


def test_a_hand_schedule_with_guarded_vector_and_unrolled_loops_compiles():
    graph = lamina.compiler.to_graph_module(
        """
func.func @main(%a: tensor<n x 16 x f32>, %b: tensor<16 x 20 x f32>) -> tensor<n x 20 x f32> {
  %c = graph.matmul %a, %b : tensor<n x 20 x f32>
  %d = graph.relu %c : tensor<n x 20 x f32>
  func.return %d : tensor<n x 20 x f32>
}
"""
    )
    signature = signature_of(graph_function(graph))
    loops = graph.clone()
    lower_module(loops)
    sch = Schedule(loops)
    m = sch.get_block("matmul")
    i, j, k = sch.get_loops(m)
    jo, ji = sch.split(j, [None, 8])  # 20 = 2*8 + 4: a guarded tail
    sch.reorder(i, jo, k, ji)
    sch.decompose_reduction(m, k)
    sch.vectorize(ji)
    sch.parallel(i)
    ko, ki = sch.split(k, [None, 4])
    sch.unroll(ki)
    r = sch.get_block("relu")
    ro, rj = sch.get_loops(r)
    rjo, rji = sch.split(rj, [None, 8])
    sch.vectorize(rji)
    rng = np.random.default_rng(0)
    for target in ("llvm", "c"):
        model = compile_scheduled(sch.module, signature, target)
        for n in (1, 7):
            a = rng.standard_normal((n, 16)).astype(np.float32)
            b = rng.standard_normal((16, 20)).astype(np.float32)
            np.testing.assert_allclose(model(a, b)[0], np.maximum(a @ b, 0), rtol=1e-4, atol=1e-4)


SOURCE = """
func.func @wide(%x: tensor<n x 64 x f32>) -> tensor<n x 64 x f32> {
  %y = graph.tanh %x : tensor<n x 64 x f32>
  func.return %y : tensor<n x 64 x f32>
}
"""


@pytest.mark.skipif(ctypes.util.find_library("gomp") is None, reason="the GNU OpenMP runtime is not installed")
@pytest.mark.parametrize("target", ["llvm", "c"])
def test_the_thread_count_reaches_the_openmp_runtime(target):
    """After a call, the calling thread's OpenMP thread count is the model's: from threads=, else
    from OMP_NUM_THREADS, else every usable core. Each case in a fresh process, so the
    environment is read the way a user's program reads it."""
    script = textwrap.dedent(
        f"""
        import ctypes, os, sys, numpy as np, lamina
        gomp = ctypes.CDLL("libgomp.so.1")
        threads = None if sys.argv[1] == "none" else int(sys.argv[1])
        model = lamina.compile({SOURCE!r}, target={target!r}, threads=threads)
        x = np.linspace(-2, 2, 32 * 64, dtype=np.float32).reshape(32, 64)
        assert np.allclose(model(x)[0], np.tanh(x), atol=1e-6)
        print(model.threads, gomp.omp_get_max_threads(), len(os.sched_getaffinity(0)))
        """
    )

    def run(threads: str, omp_env: str | None) -> list[int]:
        import os

        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        if omp_env is not None:
            env["OMP_NUM_THREADS"] = omp_env
        proc = subprocess.run([sys.executable, "-c", script, threads], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return [int(v) for v in proc.stdout.split()]

    assert run("3", None)[:2] == [3, 3]
    assert run("3", "1")[:2] == [3, 3]  # the option wins over the environment
    assert run("none", "1")[:2] == [1, 1]
    assert run("none", "5")[:2] == [5, 5]
    model_threads, omp_threads, cores = run("none", None)
    assert model_threads == omp_threads == cores
