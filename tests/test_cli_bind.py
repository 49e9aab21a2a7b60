"""`--bind NAME=FILE.npy` on the `lamina` command: a model whose Reshape target is a graph input
compiles, runs (onnxruntime gets the bound value as an input too), benches and inspects once the
input is bound; without it, or with a bad binding, the error is one line naming the input."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import lamina


def lamina_cmd(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "lamina.tools.cli", *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def reshaping_model(tmp_path):
    """y = relu(reshape(x, shape)) with `shape` a graph input."""
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("Relu", ["r"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]), helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    path = tmp_path / "reshape.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    shape = tmp_path / "shape.npy"
    np.save(shape, np.array([3, 4], np.int64))
    x = tmp_path / "x.npy"
    np.save(x, np.arange(-6, 6, dtype=np.float32).reshape(2, 6))
    return str(path), str(shape), str(x)


def test_run_without_bind_names_the_input_to_bind(reshaping_model):
    model, _, _ = reshaping_model
    proc = lamina_cmd("run", model, "-q", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "'shape'" in proc.stderr and "bind" in proc.stderr


def test_run_with_bind_matches_onnxruntime_fed_the_bound_value(reshaping_model):
    model, shape, x = reshaping_model
    out = lamina_cmd("run", model, "--bind", f"shape={shape}", "--input", f"x={x}", "--compare", "onnxruntime", "-q").stdout
    assert "y: shape=[3, 4]" in out
    assert f"sum={np.maximum(np.arange(-6, 6), 0).sum():.6g}" in out
    assert float(out.split("max abs error")[1].split(",")[0]) == 0.0


def test_compile_with_bind_drops_the_bound_input_from_the_library(reshaping_model, tmp_path):
    model, shape, _ = reshaping_model
    so = tmp_path / "reshape.so"
    lamina_cmd("compile", model, "--bind", f"shape={shape}", "-o", str(so), "-q")
    loaded = lamina.load(str(so))
    assert loaded.input_names == ["x"]
    (y,) = loaded(np.arange(-6, 6, dtype=np.float32).reshape(2, 6))
    np.testing.assert_array_equal(y, np.maximum(np.arange(-6, 6, dtype=np.float32), 0).reshape(3, 4))


def test_inspect_and_bench_with_bind(reshaping_model):
    model, shape, _ = reshaping_model
    ir = lamina_cmd("inspect", model, "--bind", f"shape={shape}", "--print-ir").stdout
    assert "graph.reshape" in ir and "3x4" in ir
    bench = lamina_cmd("bench", model, "--bind", f"shape={shape}", "--seconds", "0.2", "--rounds", "1", "--json", "-q").stdout
    assert "speedup_vs_onnxruntime" in bench


@pytest.mark.parametrize(
    "binding,message",
    [
        ("shape", "--bind expects NAME=FILE.npy"),
        ("nosuch={shape}", "'nosuch', not an input of the model"),
        ("shape={missing}", "cannot read"),
    ],
)
def test_bad_bindings_are_one_line_errors(reshaping_model, tmp_path, binding, message):
    model, shape, _ = reshaping_model
    binding = binding.format(shape=shape, missing=tmp_path / "missing.npy")
    proc = lamina_cmd("run", model, "--bind", binding, "-q", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr
