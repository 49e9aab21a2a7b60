"""The less common forms of ONNX ops lamina imports — LayerNormalization's statistics outputs,
Python-style Mod on floats, pooling over three spatial dims, reductions over empty axes, bool
ReduceMin/Max, Split into empty pieces, Pad's wrap mode — checked against onnxruntime,
interpreted and compiled."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.frontend.onnx import from_onnx
from lamina.interpreter.graph import run_function
from lamina.ir.diagnostics import LaminaError

TYPES = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.bool_): TensorProto.BOOL,
    np.dtype(np.uint8): TensorProto.UINT8,
}


def model_of(op_type, inputs, constants=None, n_outputs=1, opset=19, out_types=None, **attrs):
    """One node; inputs are fed at run time, constants become initializers; the outputs have
    the first input's element type unless out_types says otherwise."""
    constants = constants or {}
    outputs = [f"y{i}" for i in range(n_outputs)]
    out_types = out_types or [next(iter(inputs.values())).dtype] * n_outputs
    node = helper.make_node(op_type, [*inputs, *constants], outputs, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, TYPES[a.dtype], a.shape) for n, a in inputs.items()],
        [helper.make_tensor_value_info(o, TYPES[np.dtype(t)], None) for o, t in zip(outputs, out_types)],
        [numpy_helper.from_array(a, n) for n, a in constants.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def onnxruntime_outputs(model, inputs):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)


def assert_matches_onnxruntime(model, inputs, targets=("llvm",), rtol=1e-5, atol=1e-6):
    want = onnxruntime_outputs(model, inputs)
    module = from_onnx(model)
    feeds = list(inputs.values())
    runs = [run_function(module, *feeds)] + [lamina.compile(module, target=t, threads=1)(*feeds) for t in targets]
    for got in runs:
        assert len(got) == len(want)
        for g, w in zip(got, want):
            g = np.asarray(g)
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- LayerNormalization statistics


@pytest.mark.parametrize("shape,axis", [((3, 4), 1), ((2, 3, 5), 1), ((2, 3, 5), -1), ((4, 6), 0)])
def test_layer_norm_mean_and_inv_std_dev_outputs(shape, axis):
    x = rand(*shape)
    normalized = shape[axis % len(shape) :]
    model = model_of("LayerNormalization", {"x": x}, {"s": rand(*normalized, seed=1), "b": rand(*normalized, seed=2)}, n_outputs=3, opset=17, axis=axis, epsilon=1e-3)
    assert_matches_onnxruntime(model, {"x": x}, rtol=1e-4, atol=1e-5)


def test_layer_norm_statistics_of_float16_are_computed_and_returned_in_float32():
    x = rand(3, 8, dtype=np.float16)
    model = model_of("LayerNormalization", {"x": x}, {"s": rand(8, seed=1, dtype=np.float16)}, n_outputs=3, opset=17, out_types=[np.float16, np.float32, np.float32])
    y, mean, inv_std = run_function(from_onnx(model), x)
    assert y.dtype == np.float16 and mean.dtype == np.float32 and inv_std.dtype == np.float32
    x32 = x.astype(np.float32)
    want_mean = x32.mean(axis=1, keepdims=True)
    want_inv = 1 / np.sqrt(x32.var(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inv_std, want_inv, rtol=1e-5)
    np.testing.assert_allclose(y, ((x32 - want_mean) * want_inv * rand(8, seed=1, dtype=np.float16)).astype(np.float16), rtol=2e-3, atol=2e-3)


# ---------------------------------------------------------------- Mod


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mod_of_floats_takes_the_divisor_sign_with_inf_and_nan_like_numpy(dtype):
    inf, nan = np.inf, np.nan
    a = np.array([5.5, -5.5, 5.5, -5.5, 0, -3, 3, -1, 1, inf, -inf, 1, nan, 1, 7.25, -1e-3], dtype)
    b = np.array([2, 2, -2, -2, -2, inf, inf, -inf, -inf, 2, 2, 0, 2, nan, 0.5, 4], dtype)
    model = model_of("Mod", {"a": a, "b": b}, fmod=0)
    with np.errstate(invalid="ignore"):
        want = np.mod(a, b)
    module = from_onnx(model)
    for target in (None, "llvm", "c"):
        (got,) = run_function(module, a, b) if target is None else lamina.compile(module, target=target, threads=1)(a, b)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
        assert np.array_equal(np.isnan(got), np.isnan(want))


def test_fmod_of_a_finite_value_by_infinity_is_the_value_when_compiled():
    a = np.array([-3, 3, 2.5, np.inf], np.float32)
    b = np.array([np.inf, -np.inf, np.inf, np.inf], np.float32)
    model = model_of("Mod", {"a": a, "b": b}, fmod=1)
    for target in ("llvm", "c"):
        (got,) = lamina.compile(from_onnx(model), target=target, threads=1)(a, b)
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(got, np.fmod(a, b))


# ---------------------------------------------------------------- pooling over (D, H, W)


@pytest.mark.parametrize(
    "op,attrs",
    [
        ("MaxPool", {"kernel_shape": [2, 3, 2]}),
        ("MaxPool", {"kernel_shape": [3, 2, 2], "strides": [2, 1, 2], "pads": [1, 0, 1, 1, 1, 0], "dilations": [1, 2, 1]}),
        ("AveragePool", {"kernel_shape": [2, 2, 3], "pads": [1, 1, 0, 0, 1, 1]}),
        ("AveragePool", {"kernel_shape": [2, 2, 3], "pads": [1, 1, 0, 0, 1, 1], "count_include_pad": 1}),
        ("AveragePool", {"kernel_shape": [3, 3, 2], "strides": [2, 2, 2], "ceil_mode": 1}),
        ("AveragePool", {"kernel_shape": [2, 3, 2], "strides": [2, 2, 2], "pads": [1, 1, 1, 0, 0, 0], "ceil_mode": 1, "count_include_pad": 1}),
    ],
)
def test_pool_over_three_spatial_dims(op, attrs):
    x = rand(2, 3, 5, 6, 7)
    assert_matches_onnxruntime(model_of(op, {"x": x}, **attrs), {"x": x}, rtol=1e-5, atol=1e-6)


def test_max_pool_of_uint8():
    x = np.random.default_rng(0).integers(0, 256, (1, 2, 5, 5)).astype(np.uint8)
    assert_matches_onnxruntime(model_of("MaxPool", {"x": x}, kernel_shape=[2, 2], pads=[1, 1, 0, 0]), {"x": x})


# ---------------------------------------------------------------- reductions over empty axes


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"])
@pytest.mark.parametrize("axes,keepdims", [([1], 1), ([1], 0), ([2], 1), ([0, 1], 0)])
def test_reduction_over_an_empty_tensor_is_the_identity_like_onnxruntime(op, axes, keepdims):
    x = np.zeros((2, 0, 3), np.float32)
    model = model_of(op, {"x": x}, {"axes": np.array(axes, np.int64)}, opset=18, keepdims=keepdims)
    with np.errstate(divide="ignore"):
        assert_matches_onnxruntime(model, {"x": x})


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin"])
def test_bool_reduce_max_is_any_and_min_is_all(op):
    x = np.array([[True, False], [False, False], [True, True]])
    model = model_of(op, {"x": x}, {"axes": np.array([1], np.int64)}, opset=20, keepdims=0)
    assert_matches_onnxruntime(model, {"x": x})
    # onnxruntime refuses a bool reduction over nothing; ONNX's own cases want any() / all().
    empty = np.zeros((2, 0), np.bool_)
    (got,) = run_function(from_onnx(model_of(op, {"x": empty}, {"axes": np.array([1], np.int64)}, opset=20)), empty)
    np.testing.assert_array_equal(got, np.full((2, 1), op == "ReduceMin"))


# ---------------------------------------------------------------- Split, Pad


@pytest.mark.parametrize("sizes", [[0, 3, 0, 2], [5, 0], [0, 0, 5]])
def test_split_with_empty_pieces(sizes):
    x = rand(5, 2)
    model = model_of("Split", {"x": x}, {"split": np.array(sizes, np.int64)}, n_outputs=len(sizes), opset=18, axis=0)
    assert_matches_onnxruntime(model, {"x": x})


@pytest.mark.parametrize("pads", [[1, 2, 1, 0], [0, 3, 2, 1], [2, 5, 3, 7]])
def test_pad_wrap(pads):
    x = rand(3, 4)
    model = model_of("Pad", {"x": x}, {"pads": np.array(pads, np.int64)}, opset=19, mode="wrap")
    assert_matches_onnxruntime(model, {"x": x})


def test_pad_wrap_with_negative_pads_is_refused_with_the_node_named():
    model = model_of("Pad", {"x": rand(3, 4)}, {"pads": np.array([0, -1, 1, 2], np.int64)}, opset=19, mode="wrap")
    with pytest.raises(LaminaError, match=r"node 'y0' \(Pad.*'wrap' with negative pads"):
        from_onnx(model)
