"""The ONNX importer: examples against onnxruntime, symbolic shape subgraphs, and the errors a
user meets (unsupported ops listed once, truncated files, external data outside the model dir)."""

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.frontend.onnx import from_onnx, op_histogram
from lamina.interpreter.graph import run_function
from lamina.ir.diagnostics import LaminaError
from lamina.ir.printer import print_module

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def ort_run(model_or_path, feeds):
    data = model_or_path.SerializeToString() if isinstance(model_or_path, onnx.ModelProto) else model_or_path
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.mark.parametrize("name,shape", [("mlp", (5, 64)), ("cnn", (2, 3, 32, 32))])
def test_examples_match_onnxruntime_interpreted_and_compiled(name, shape):
    path = os.path.join(EXAMPLES, f"{name}.onnx")
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    (want,) = ort_run(path, {"x": x})
    module = from_onnx(path)
    (interpreted,) = run_function(module, x)
    np.testing.assert_allclose(interpreted, want, rtol=1e-4, atol=1e-5)
    (compiled,) = lamina.compile(path)({"x": x})
    np.testing.assert_allclose(compiled, want, rtol=1e-4, atol=1e-5)


def test_examples_are_the_committed_builds():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_examples", os.path.join(EXAMPLES, "build_examples.py"))
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for name in ("mlp", "cnn"):
        committed = onnx.load(os.path.join(EXAMPLES, f"{name}.onnx"))
        assert committed.SerializeToString() == getattr(build, name)().SerializeToString()


def shape_subgraph_model():
    """x: [n, 4, 6] → Reshape(x, Concat(Shape(x)[0], [-1])) → [n, 24], as exporters write flatten."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
        helper.make_node("Relu", ["y"], ["z"]),
    ]
    inits = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([0], np.int64), "axes0"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 6])], [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], inits
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_shape_subgraph_stays_symbolic_and_folds_away():
    model = shape_subgraph_model()
    module = from_onnx(model)
    text = print_module(module)
    assert "tensor<batch x 24 x f32>" in text
    assert "graph.gather" not in text and "graph.concat" not in text
    x = np.random.default_rng(1).standard_normal((3, 4, 6)).astype(np.float32)
    (want,) = ort_run(model, {"x": x})
    np.testing.assert_allclose(lamina.compile(model)(x)[0], want)


def test_unsupported_ops_are_listed_once_with_names():
    nodes = [
        helper.make_node("Unique", ["x", "k"], ["v"], name="top"),
        helper.make_node("NonZero", ["v"], ["r"], name="up1"),
        helper.make_node("NonZero", ["r"], ["y"], name="up2"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([2], np.int64), "k")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(LaminaError) as info:
        from_onnx(model)
    message = info.value.message
    assert "2 op type(s)" in message
    assert "NonZero (opset 17): up1, up2" in message and "Unique (opset 17): top" in message
    assert op_histogram(model)["NonZero"] == 2


def test_truncated_and_garbage_files_are_clear_errors(tmp_path):
    good = os.path.join(EXAMPLES, "mlp.onnx")
    data = open(good, "rb").read()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 3])
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\xff this is not a protobuf \x13\x37" * 10)
    for path in (truncated, garbage, tmp_path / "missing.onnx"):
        with pytest.raises(LaminaError):
            from_onnx(str(path))


def test_external_data_outside_the_model_directory_is_refused(tmp_path):
    model = onnx.load(os.path.join(EXAMPLES, "mlp.onnx"))
    inside = tmp_path / "model"
    inside.mkdir()
    onnx.save(model, str(inside / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    module = from_onnx(str(inside / "m.onnx"))  # data beside the model loads
    assert module is not None
    loaded = onnx.load(str(inside / "m.onnx"), load_external_data=False)
    for t in loaded.graph.initializer:
        for entry in t.external_data:
            if entry.key == "location":
                entry.value = "../secret.bin"
    (tmp_path / "secret.bin").write_bytes(b"\0" * 1024)
    onnx.save(loaded, str(inside / "evil.onnx"))
    with pytest.raises(LaminaError, match="outside the model's directory"):
        from_onnx(str(inside / "evil.onnx"))
