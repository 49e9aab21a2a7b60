"""Specialising an ONNX model on input values (`bind_inputs`): shape-deciding operands fed as
graph inputs become constants and leave the signature; the importer's refusal without them
names exactly those inputs, which is what the conformance harness binds."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import lamina
from lamina.frontend.onnx import InputsMustBeConstant, from_onnx
from lamina.frontend.onnx.conformance import PASS, node_cases, run_case
from lamina.ir.diagnostics import LaminaError


def reshape_then_reduce_model():
    """y = ReduceSum(Reshape(x, shape), axes): both shape and axes are graph inputs."""
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("ReduceSum", ["r", "axes"], ["y"], keepdims=0)]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]),
            helper.make_tensor_value_info("shape", TensorProto.INT64, [3]),
            helper.make_tensor_value_info("axes", TensorProto.INT64, [1]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


SHAPE, AXES = np.array([3, 2, 2], np.int64), np.array([1], np.int64)


def test_refusal_names_the_inputs_that_must_be_constant():
    with pytest.raises(InputsMustBeConstant) as err:
        from_onnx(reshape_then_reduce_model())
    assert err.value.inputs == ("axes", "shape")  # every refusal of the import is collected
    assert "from input 'shape'" in err.value.message and "bind_inputs" in err.value.message
    with pytest.raises(InputsMustBeConstant) as err:
        from_onnx(reshape_then_reduce_model(), bind_inputs={"shape": SHAPE})
    assert err.value.inputs == ("axes",)


def test_bound_inputs_leave_the_signature_and_results_match_onnxruntime():
    model = reshape_then_reduce_model()
    x = np.random.default_rng(0).standard_normal((2, 6)).astype(np.float32)
    (want,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x, "shape": SHAPE, "axes": AXES})
    compiled = lamina.compile(model, threads=1, bind_inputs={"shape": SHAPE, "axes": [1]})
    assert [spec.name for spec in compiled.signature.inputs] == ["x"]
    (got,) = compiled(x)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    fn = next(iter(from_onnx(model, bind_inputs={"shape": SHAPE, "axes": AXES}).ops))
    assert len(fn.body.block.args) == 1


def test_binding_something_that_is_not_an_input_or_does_not_fit_is_refused():
    model = reshape_then_reduce_model()
    with pytest.raises(LaminaError, match=r"bind_inputs names 'axis', not an input of the model \(inputs: x, shape, axes\)"):
        from_onnx(model, bind_inputs={"axis": AXES})
    with pytest.raises(LaminaError, match=r"the value for 'shape' has shape \[2\], the input is declared \[3\]"):
        from_onnx(model, bind_inputs={"shape": np.array([3, 4])})
    with pytest.raises(LaminaError, match="does not fit its element type"):
        from_onnx(model, bind_inputs={"axes": np.array([1.5])})
    with pytest.raises(LaminaError, match="bind_inputs specialises ONNX models"):
        lamina.compile("graph.func @f() -> () { func.return }", bind_inputs={"a": 1})


@pytest.mark.parametrize("name,bound", [("test_reduce_sum_keepdims_example", ("axes",)), ("test_resize_tf_crop_and_resize", ("roi", "sizes")), ("test_top_k", ("k",))])
def test_conformance_harness_binds_exactly_what_the_importer_names(name, bound):
    (case,) = [c for c in node_cases() if c.name == name]
    outcome = run_case(case)
    assert outcome.status == PASS and outcome.bound == bound
