"""prefetch-panels: a channel-tiled conv fetches the next weight panel while its tiles reuse the
current one, and a Winograd GEMM the next transform point's weights. Checked by interpreting the
scheduled loop IR with the prefetches recorded (every line of the next panel or point is
fetched, by the tiles of the one before it, inside the buffer), by the IR the pass leaves
alone, and by compiled models against onnxruntime."""

from __future__ import annotations

import dataclasses
import os
import subprocess

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
import lamina.passes.loop.prefetch_panels as prefetch_panels
import lamina.targets.host as host_module
from lamina.compiler import pipeline, run_passes, to_graph_module
from lamina.interpreter.loop import LoopFunction, run_function
from lamina.ir.printer import print_module

LINE_FLOATS = 16


def conv_model(channels: int, outputs: int, size: int):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array((rng.standard_normal((outputs, channels, 3, 3)) / np.sqrt(9 * channels)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(outputs).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y0"], pads=[1] * 4), helper.make_node("Relu", ["y0"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, rng.standard_normal((1, channels, size, size)).astype(np.float32)


def onnxruntime_result(model, x: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def loop_module(model, threads: int, winograd_min_tiles: int = 0):
    module = to_graph_module(model)
    stages = pipeline(1, threads)[:-1]  # all but lower-loop-to-device
    assert stages[-1] == "prefetch-panels"
    if winograd_min_tiles:
        stages = [f"winograd-conv{{min-tiles={winograd_min_tiles}}}" if s == "winograd-conv" else s for s in stages]
    run_passes(module, stages)
    return module


@pytest.fixture
def avx512_plan(monkeypatch):
    """Schedules planned as on an AVX-512 host (16-float vectors, 32 registers, 48 KiB L1d, 2 MiB
    L2), which the tile and panel counts below are worked out for: the loop IR the pass sees
    depends on the host, and the interpreter runs that IR on any host."""
    planned = dataclasses.replace(host_module.detected_host(), vector_bits=512, cpu="sapphirerapids", l1_bytes=48 * 1024, l2_bytes=2 * 1024 * 1024)
    monkeypatch.setattr(host_module, "detected_host", lambda: planned)
    monkeypatch.delenv(host_module.VECTOR_BITS_VARIABLE, raising=False)


@pytest.fixture
def avx2_plan(monkeypatch):
    """As avx512_plan, for an AVX2 host (8-float vectors, 16 registers, 32 KiB L1d, 512 KiB L2)."""
    planned = dataclasses.replace(host_module.detected_host(), vector_bits=256, cpu="znver3", l1_bytes=32 * 1024, l2_bytes=512 * 1024)
    monkeypatch.setattr(host_module, "detected_host", lambda: planned)
    monkeypatch.delenv(host_module.VECTOR_BITS_VARIABLE, raising=False)


@pytest.fixture
def small_panels(monkeypatch):
    """Panels of test size count as worth fetching (16 channels x 3 x 3 x 32 floats: 18 KiB)."""
    monkeypatch.setattr(prefetch_panels, "MIN_PANEL_BYTES", 1024)


def record_weight_traffic(monkeypatch) -> list[tuple[str, np.ndarray]]:
    """("load", panels) for each load of the packed weights and ("prefetch", lines) for each
    prefetch, in the order the interpreter runs them (arrays: it runs a parallel loop's
    iterations at once)."""
    events: list[tuple[str, np.ndarray]] = []
    load, prefetch = LoopFunction._loop_load, LoopFunction._loop_prefetch

    def recording_load(self, op, ins, outs, depth):
        step = load(self, op, ins, outs, depth)
        weights = op.operands[0]
        if getattr(weights.owner, "name", None) != "loop.const" or weights.type.rank < 4:
            return step

        def run(env, mask):
            step(env, mask)
            events.append(("load", np.ravel(env[ins[1]])))
            if weights.type.rank == 4:  # a Winograd GEMM's U[panel, point, k, lane]: where its step starts
                events.append(("load_at", [int(np.ravel(env[i])[0]) for i in ins[1:3]]))

        return run

    def recording_prefetch(self, op, ins, outs, depth):
        step = prefetch(self, op, ins, outs, depth)

        def run(env, mask):
            step(env, mask)
            events.append(("prefetch", np.ravel(env[ins[1]]) // LINE_FLOATS))

        return run

    monkeypatch.setattr(LoopFunction, "_loop_load", recording_load)
    monkeypatch.setattr(LoopFunction, "_loop_prefetch", recording_prefetch)
    return events


def prefetches_with_next(events, kind: str) -> list:
    """(lines, what) for each prefetch, `what` from the first event of `kind` after it."""
    found, following = [], None
    for kind_, value in reversed(events):
        if kind_ == kind:
            following = value
        elif kind_ == "prefetch":
            found.append((value, following))
    return found


@pytest.mark.parametrize("threads", [1, 2], ids=["panel-and-tile-loops", "fused-for-threads"])
def test_each_tile_fetches_its_share_of_the_next_panel(avx512_plan, small_panels, monkeypatch, threads):
    """64 output channels make 2 panels of 32; 7x7 positions make 7 tiles of 7. Panel 0's tiles
    fetch every line of panel 1, only lines of panel 1; panel 1's tiles fetch the last line."""
    model, x = conv_model(16, 64, 7)
    module = loop_module(model, threads)
    events = record_weight_traffic(monkeypatch)
    np.testing.assert_allclose(run_function(module, x)[0], onnxruntime_result(model, x), rtol=1e-4, atol=1e-4)
    panel_lines = 16 * 3 * 3 * 32 // LINE_FLOATS
    fetched = set(np.concatenate([lines for kind, lines in events if kind == "prefetch"]).tolist())
    assert fetched == set(range(panel_lines, 2 * panel_lines)), "all of panel 1 (the last panel clamps to its last line)"
    fetches = sum(lines.size for kind, lines in events if kind == "prefetch")
    assert fetches == 2 * 7 * 16 * 3, "per reduction step of each tile: ceil(ceil(288 lines / 16 steps) / 7 tiles) = 3 lines"
    if threads == 1:
        fetched_by = {0: set(), 1: set()}
        for lines, panels in prefetches_with_next(events, "load"):  # a step's loads follow its prefetches
            fetched_by[int(panels[0])].update(lines.tolist())
        assert fetched_by[0] == set(range(panel_lines, 2 * panel_lines)), "panel 0's tiles fetch panel 1"
        assert fetched_by[1] == {2 * panel_lines - 1}, "the last panel's offsets clamp to the buffer's last element"


def test_winograd_tiles_fetch_the_next_points_weights(avx512_plan, small_panels, monkeypatch, threads=1):
    """16 -> 64 channels at 14x14 is a Winograd F(2x2) conv: its GEMM reads U[panel, point, k,
    lane] (2 panels, 16 points, 16 k) with the points outermost and 7 row tiles reusing each
    point's weights. Each step fetches the same panel's chunk of the next point (the last point
    its own), and together the steps fetch every line of points 1 to 15."""
    model, x = conv_model(16, 64, 14)
    module = loop_module(model, threads)
    assert "memref<2x16x16x32xf32>" in print_module(module)
    events = record_weight_traffic(monkeypatch)
    np.testing.assert_allclose(run_function(module, x)[0], onnxruntime_result(model, x), rtol=1e-4, atol=1e-4)
    shape, chunk_lines = (2, 16, 16, 32), 16 * 32 // LINE_FLOATS
    fetched = np.concatenate([lines for kind, lines in events if kind == "prefetch"])
    panel, point = np.unravel_index(fetched * LINE_FLOATS, shape)[:2]
    assert point.min() >= 1, "never the first point's weights"
    every = {(j, p, line) for j in range(2) for p in range(1, 16) for line in range(chunk_lines)}
    assert {(int(j), int(p), int(f % chunk_lines)) for j, p, f in zip(panel, point, fetched)} == every
    if threads == 1:
        for lines, (j, p) in prefetches_with_next(events, "load_at"):
            got = {tuple(int(v) for v in np.unravel_index(line * LINE_FLOATS, shape)[:2]) for line in lines}
            assert got == {(j, min(p + 1, 15))}, "the step's own panel, the next point"


def test_small_panels_are_left_alone(avx512_plan):
    model, _ = conv_model(16, 64, 7)
    assert "loop.prefetch" not in print_module(loop_module(model, 1))


def test_panels_inside_row_tiles_are_left_alone(avx512_plan, small_panels):
    """A GEMM with constant B runs its packed panels inside each row tile: no loop of tiles
    under a panel reuses it, so there is nothing to fetch ahead of."""
    rng = np.random.default_rng(1)
    b = numpy_helper.from_array(rng.standard_normal((64, 128)).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [96, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    ir = print_module(loop_module(model, 1))
    assert "x32xf32>" in ir, "B is packed in panels"
    assert "loop.prefetch" not in ir


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
def test_prefetching_conv_computes_the_conv(small_panels, target, threads):
    model, x = conv_model(16, 64, 7)
    compiled = lamina.compile(model, target=target, threads=threads)
    np.testing.assert_allclose(compiled(x)[0], onnxruntime_result(model, x), rtol=1e-4, atol=1e-4)


def test_prefetches_build_as_plain_c99(small_panels, tmp_path):
    """The c target's prefetch is GCC's builtin, and a no-op for other compilers (or with
    -DLAMINA_PORTABLE_C, checked here with the builtin poisoned)."""
    if not any(os.access(os.path.join(d, "cc"), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("no cc")
    model, x = conv_model(16, 64, 7)
    compiled = lamina.compile(model, target="c", threads=1)
    assert "LAMINA_PREFETCH(&" in compiled.source
    source, library = tmp_path / "model.c", tmp_path / "portable.so"
    source.write_text(compiled.source)
    flags = ["-std=c99", "-pedantic-errors", "-DLAMINA_PORTABLE_C", "-D__builtin_prefetch=lamina_not_c99_builtin_prefetch"]
    proc = subprocess.run(["cc", "-shared", "-fPIC", "-O1", *flags, "-o", str(library), str(source), "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(lamina.load(str(library), threads=1)(x)[0], compiled(x)[0], rtol=1e-5, atol=1e-5)


def test_resnet_stage_weights_are_prefetched(avx512_plan):
    """At the default size: 256 -> 256 channels at 7x7 (panels of 288 KiB)."""
    model, _ = conv_model(256, 256, 7)
    ir = print_module(loop_module(model, 2))
    assert ir.count("loop.prefetch") == 3, "ceil(ceil(4608 lines / 256 steps) / 7 tiles) = 3 lines per step"


def test_resnet_stage_weights_are_prefetched_with_avx2_panels(avx2_plan):
    """16-lane panels of 144 KiB: a reduction step's 9 lines, shared out over the row tiles of
    4 positions, are one line per tile. (An AVX2 host computes this conv as Winograd; the pass
    is told to leave it direct, as on a host computing 512-bit vectors at full rate.)"""
    model, _ = conv_model(256, 256, 7)
    ir = print_module(loop_module(model, 2, winograd_min_tiles=25))
    assert "memref<16x256x3x3x16xf32>" in ir
    assert ir.count("loop.prefetch") == 1, "ceil(ceil(2304 lines / 256 steps) / 12 full tiles) = 1 line per step"
