"""Single-node ONNX models of the ops lamina imports by decomposition or through their own graph
op (ConvTranspose, Einsum, GatherElements, CumSum, TopK, Resize, ScatterND), checked against
onnxruntime interpreted and compiled for the llvm target, and their refusals."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.frontend.onnx import from_onnx
from lamina.interpreter.graph import run_function
from lamina.ir.diagnostics import LaminaError

ONNX_TYPES = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64, np.int32: TensorProto.INT32}


def single_node_model(op_type, inputs, constants=None, outputs=("y",), output_types=(np.float32,), opset=19, **attrs):
    """inputs: name -> array fed at run time; constants: name -> initializer (None leaves an
    optional input out)."""
    constants = constants or {}
    names = list(inputs) + [n if a is not None else "" for n, a in constants.items()]
    node = helper.make_node(op_type, names, list(outputs), **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, ONNX_TYPES[a.dtype.type], a.shape) for n, a in inputs.items()],
        [helper.make_tensor_value_info(o, ONNX_TYPES[np.dtype(t).type], None) for o, t in zip(outputs, output_types)],
        [numpy_helper.from_array(a, n) for n, a in constants.items() if a is not None],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def assert_matches_onnxruntime(model, inputs, rtol=1e-5, atol=1e-5):
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, inputs)
    module = from_onnx(model)
    feeds = list(inputs.values())
    for got in (run_function(module, *feeds), lamina.compile(module, threads=1)(*feeds)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- grouped Conv


@pytest.mark.parametrize(
    "in_channels, out_channels, groups",
    [(8, 4, 4), (4, 8, 4), (4, 4, 4), (6, 6, 3), (16, 16, 16)],
    ids=["2-inputs-per-group", "2-outputs-per-group", "depthwise-4", "grouped-3", "depthwise-16"],
)
def test_grouped_conv(in_channels, out_channels, groups):
    """Each group's channel index: one output and one input per group (depthwise), several of
    either, on a padded input; the depthwise ones take the unshared tile, padded per channel."""
    x = rand(1, in_channels, 9, 19)
    w = rand(out_channels, in_channels // groups, 3, 3, seed=1)
    model = single_node_model("Conv", {"x": x}, {"w": w}, pads=[1, 1, 1, 1], group=groups)
    assert_matches_onnxruntime(model, {"x": x}, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- ConvTranspose


@pytest.mark.parametrize(
    "x_shape,w_shape,attrs",
    [
        ((2, 3, 5, 4), (3, 2, 3, 3), {}),
        ((1, 4, 4, 5), (4, 3, 3, 2), {"strides": [2, 3], "pads": [1, 0, 2, 1], "group": 2}),
        ((1, 2, 3, 3), (2, 2, 2, 3), {"strides": [2, 2], "dilations": [2, 1], "output_padding": [1, 0]}),
        ((1, 1, 4, 4), (1, 2, 4, 4), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
        ((1, 1, 3, 3), (1, 1, 3, 3), {"strides": [3, 2], "output_shape": [11, 8]}),
        ((2, 3, 7), (3, 4, 3), {"strides": [2], "pads": [1, 2]}),
    ],
)
def test_conv_transpose(x_shape, w_shape, attrs):
    model = single_node_model("ConvTranspose", {"x": rand(*x_shape)}, {"w": rand(*w_shape, seed=1), "b": rand(w_shape[1] * attrs.get("group", 1), seed=2)}, **attrs)
    assert_matches_onnxruntime(model, {"x": rand(*x_shape)}, rtol=1e-4, atol=1e-4)


def test_conv_transpose_3d_is_refused_with_the_node_named():
    model = single_node_model("ConvTranspose", {"x": rand(1, 1, 2, 2, 2)}, {"w": rand(1, 1, 2, 2, 2)})
    with pytest.raises(LaminaError, match=r"node 'y' \(ConvTranspose.*3 spatial dims"):
        from_onnx(model)


# ---------------------------------------------------------------- Einsum


@pytest.mark.parametrize(
    "equation,shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 5)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("ij,kj", [(3, 4), (5, 4)]),  # implicit output: ik
        ("...ij,...jk->...ik", [(2, 5, 3, 4), (2, 5, 4, 2)]),
        ("ii->i", [(4, 4)]),
        ("bii->b", [(2, 3, 3)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
        ("abc,cd->bd", [(2, 3, 4), (4, 5)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ijk->kji", [(2, 3, 4)]),
        ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
    ],
)
def test_einsum(equation, shapes):
    inputs = {f"x{k}": rand(*s, seed=k) for k, s in enumerate(shapes)}
    model = single_node_model("Einsum", inputs, equation=equation)
    assert_matches_onnxruntime(model, inputs, rtol=1e-4, atol=1e-5)


def test_einsum_broadcasts_size_one_ellipsis_axes_like_numpy():
    inputs = {"a": rand(2, 1, 3, 4), "b": rand(5, 4, 2, seed=1)}
    module = from_onnx(single_node_model("Einsum", inputs, equation="...ij,...jk->...ik"))
    (got,) = lamina.compile(module, threads=1)(*inputs.values())
    np.testing.assert_allclose(got, np.einsum("...ij,...jk->...ik", *inputs.values()), rtol=1e-5, atol=1e-5)


def test_einsum_with_a_wrong_term_is_refused():
    model = single_node_model("Einsum", {"x": rand(3, 4)}, equation="ijk->i")
    with pytest.raises(LaminaError, match="Einsum term 'ijk' has 3 labels for an operand of rank 2"):
        from_onnx(model)


# ---------------------------------------------------------------- GatherElements, ScatterND


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements(axis):
    x = rand(3, 4, 5)
    size = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = 6
    idx = np.random.default_rng(3).integers(-size, size, size=shape).astype(np.int64)
    model = single_node_model("GatherElements", {"x": x}, {"idx": idx}, axis=axis)
    assert_matches_onnxruntime(model, {"x": x})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd_with_repeated_indices_applies_updates_in_order(reduction):
    data = rand(4, 3, 2)
    idx = np.array([[[1, 0], [3, 2]], [[1, 0], [-1, 1]]], np.int64)  # (1, 0) twice
    updates = rand(2, 2, 2, seed=1)
    if reduction == "none":
        idx = idx[:1]  # onnxruntime leaves duplicates undefined without a reduction
        updates = updates[:1]
    model = single_node_model("ScatterND", {"data": data}, {"idx": idx, "updates": updates}, opset=18, reduction=reduction)
    assert_matches_onnxruntime(model, {"data": data})


def test_scatter_nd_loops_run_in_order():
    from lamina.lowering.graph_to_loop import lower_module

    model = single_node_model("ScatterND", {"data": rand(8, 3)}, {"idx": np.array([[1], [1]], np.int64), "updates": rand(2, 3)}, opset=18, reduction="add")
    module = from_onnx(model)
    lower_module(module)
    kinds = [op.attr("kind") for op in module.walk() if op.name == "loop.for"]
    # The copy of the data is parallel; the scatter's loops are serial.
    assert kinds == ["parallel", "parallel", "serial", "serial"]


# ---------------------------------------------------------------- CumSum, TopK


@pytest.mark.parametrize("axis,exclusive,reverse", [(0, 0, 0), (1, 1, 0), (-1, 0, 1), (1, 1, 1)])
def test_cumsum(axis, exclusive, reverse):
    x = rand(3, 5)
    model = single_node_model("CumSum", {"x": x}, {"axis": np.array(axis, np.int64)}, exclusive=exclusive, reverse=reverse)
    assert_matches_onnxruntime(model, {"x": x})


def test_cumsum_of_integers_is_exact():
    x = np.random.default_rng(0).integers(-1000, 1000, size=(4, 6)).astype(np.int32)
    model = single_node_model("CumSum", {"x": x}, {"axis": np.array([1], np.int32)}, output_types=(np.int32,))
    assert_matches_onnxruntime(model, {"x": x}, rtol=0, atol=0)


@pytest.mark.parametrize("axis,k,largest", [(1, 2, 1), (-1, 5, 0), (0, 1, 1), (0, 3, 0)])
def test_top_k_values_and_indices_with_ties(axis, k, largest):
    x = np.random.default_rng(0).integers(0, 4, size=(3, 5)).astype(np.float32)  # many ties
    model = single_node_model("TopK", {"x": x}, {"k": np.array([k], np.int64)}, outputs=("values", "indices"), output_types=(np.float32, np.int64), axis=axis, largest=largest)
    assert_matches_onnxruntime(model, {"x": x}, rtol=0, atol=0)


def test_top_k_puts_nan_first_like_numpy():
    x = np.array([[1.0, np.nan, 3.0, np.nan, -np.inf]], np.float32)
    module = from_onnx(single_node_model("TopK", {"x": x}, {"k": np.array([3], np.int64)}, outputs=("v", "i"), output_types=(np.float32, np.int64)))
    values, indices = lamina.compile(module, threads=1)(x)
    np.testing.assert_array_equal(indices, [[1, 3, 2]])
    np.testing.assert_array_equal(values, [[np.nan, np.nan, 3.0]])


def test_top_k_with_k_from_data_names_the_input():
    model = single_node_model("TopK", {"x": rand(3, 4), "k": np.array([2], np.int64)}, outputs=("v", "i"), output_types=(np.float32, np.int64))
    with pytest.raises(LaminaError, match=r"TopK k computed at run time"):
        from_onnx(model)


# ---------------------------------------------------------------- Resize


@pytest.mark.parametrize(
    "attrs,sizes",
    [
        ({"mode": "nearest"}, [1, 2, 7, 9]),
        ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, [1, 2, 10, 3]),
        ({"mode": "linear"}, [1, 2, 7, 9]),
        ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, [1, 2, 3, 11]),
        ({"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, [1, 2, 1, 8]),
        ({"mode": "cubic"}, [1, 2, 9, 4]),
        ({"mode": "cubic", "exclude_outside": 1, "cubic_coeff_a": -0.5}, [1, 2, 8, 8]),
        ({"mode": "linear", "antialias": 1}, [1, 2, 2, 3]),
    ],
)
def test_resize_with_sizes(attrs, sizes):
    x = rand(1, 2, 5, 6)
    model = single_node_model("Resize", {"x": x}, {"roi": None, "scales": None, "sizes": np.array(sizes, np.int64)}, **attrs)
    assert_matches_onnxruntime(model, {"x": x}, rtol=1e-4, atol=1e-5)


def test_resize_with_scales_on_chosen_axes():
    x = rand(2, 3, 4, 4)
    model = single_node_model("Resize", {"x": x}, {"roi": None, "scales": np.array([2.0, 0.5], np.float32)}, mode="linear", axes=[3, 2])
    assert_matches_onnxruntime(model, {"x": x}, rtol=1e-4, atol=1e-5)


def test_resize_nearest_of_integers_is_a_gather():
    x = np.arange(24, dtype=np.int32).reshape(1, 1, 4, 6)
    model = single_node_model("Resize", {"x": x}, {"roi": None, "scales": np.array([1, 1, 2, 0.5], np.float32)}, output_types=(np.int32,), mode="nearest")
    assert_matches_onnxruntime(model, {"x": x}, rtol=0, atol=0)
    assert [op.name for op in from_onnx(model).walk() if op.name.startswith("graph.")].count("graph.gather") == 2


def test_resize_refuses_linear_of_integers_with_the_node_named():
    model = single_node_model("Resize", {"x": np.zeros((1, 1, 2, 2), np.int64)}, {"roi": None, "scales": np.array([1, 1, 2, 2], np.float32)}, output_types=(np.int64,), mode="linear")
    with pytest.raises(LaminaError, match=r"node 'y' \(Resize.*Resize linear of int64 data"):
        from_onnx(model)
