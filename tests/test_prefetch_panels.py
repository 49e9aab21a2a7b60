"""prefetch-panels: a channel-tiled conv fetches the next weight panel while its tiles reuse the
current one. Checked by interpreting the scheduled loop IR with the prefetches recorded (every
line of the next panel is fetched, by the tiles of the panel before it, inside the buffer), by
the IR the pass leaves alone, and by compiled models against onnxruntime."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
import lamina.passes.loop.prefetch_panels as prefetch_panels
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


def loop_module(model, threads: int, prefetch: bool = True):
    module = to_graph_module(model)
    stages = pipeline(1, threads)[:-1]  # all but lower-loop-to-device
    assert stages[-1] == "prefetch-panels"
    run_passes(module, stages if prefetch else stages[:-1])
    return module


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
        if getattr(weights.owner, "name", None) != "loop.const" or weights.type.rank != 5:
            return step

        def run(env, mask):
            step(env, mask)
            events.append(("load", np.ravel(env[ins[1]])))

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


@pytest.mark.parametrize("threads", [1, 2], ids=["panel-and-tile-loops", "fused-for-threads"])
def test_each_tile_fetches_its_share_of_the_next_panel(small_panels, monkeypatch, threads):
    """64 output channels make 2 panels of 32; 7x7 positions make 7 tiles of 7. Panel 0's tiles
    fetch every line of panel 1, only lines of panel 1; panel 1's tiles fetch the last line."""
    model, x = conv_model(16, 64, 7)
    module = loop_module(model, threads)
    want = run_function(loop_module(model, threads, prefetch=False), x)[0]
    events = record_weight_traffic(monkeypatch)
    np.testing.assert_array_equal(run_function(module, x)[0], want)
    panel_lines = 16 * 3 * 3 * 32 // LINE_FLOATS
    fetched = set(np.concatenate([lines for kind, lines in events if kind == "prefetch"]).tolist())
    assert fetched == set(range(panel_lines, 2 * panel_lines)), "all of panel 1 (the last panel clamps to its last line)"
    fetches = sum(lines.size for kind, lines in events if kind == "prefetch")
    assert fetches == 2 * 7 * 16 * 3, "per reduction step of each tile: ceil(ceil(288 lines / 16 steps) / 7 tiles) = 3 lines"
    if threads == 1:
        fetched_by = {0: set(), 1: set()}
        for k, (kind, lines) in enumerate(events):
            if kind == "prefetch":
                panel = next(int(p[0]) for kind_, p in events[k:] if kind_ == "load")  # its own step's loads
                fetched_by[panel].update(lines.tolist())
        assert fetched_by[0] == set(range(panel_lines, 2 * panel_lines)), "panel 0's tiles fetch panel 1"
        assert fetched_by[1] == {2 * panel_lines - 1}, "the last panel's offsets clamp to the buffer's last element"


def test_small_panels_are_left_alone():
    model, _ = conv_model(16, 64, 7)
    assert "loop.prefetch" not in print_module(loop_module(model, 1))


def test_panels_inside_row_tiles_are_left_alone(small_panels):
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
    ort = pytest.importorskip("onnxruntime")
    model, x = conv_model(16, 64, 7)
    compiled = lamina.compile(model, target=target, threads=threads)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(compiled(x)[0], want, rtol=1e-4, atol=1e-4)


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


def test_resnet_stage_weights_are_prefetched():
    """At the default size: 256 -> 256 channels at 7x7 (panels of 288 KiB)."""
    model, _ = conv_model(256, 256, 7)
    ir = print_module(loop_module(model, 2))
    assert ir.count("loop.prefetch") == 3, "ceil(ceil(4608 lines / 256 steps) / 7 tiles) = 3 lines per step"
