"""Builds the bundled example models with onnx.helper and fixed-seed random weights:

    python examples/build_examples.py        # writes examples/mlp.onnx and examples/cnn.onnx

mlp.onnx: Gemm(transB) → Relu → Gemm(transB) → Relu → Gemm(transB) → Softmax over a symbolic batch n.
cnn.onnx: Conv → BatchNormalization → Relu → MaxPool → Conv → Relu → GlobalAveragePool → Flatten → Gemm.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def _init(rng, name, shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    s = scale if scale is not None else 1 / np.sqrt(fan_in)
    return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)


def mlp() -> onnx.ModelProto:
    rng = np.random.default_rng(1)
    sizes = [64, 128, 64, 10]
    nodes, inits, h = [], [], "x"
    for i, (k, n) in enumerate(zip(sizes, sizes[1:])):
        inits += [_init(rng, f"w{i}", [n, k]), _init(rng, f"b{i}", [n], 0.1)]
        out = f"fc{i}"
        nodes.append(helper.make_node("Gemm", [h, f"w{i}", f"b{i}"], [out], name=f"fc{i}", transB=1))
        h = out
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [h], [f"relu{i}"], name=f"relu{i}"))
            h = f"relu{i}"
    nodes.append(helper.make_node("Softmax", [h], ["probs"], name="softmax", axis=-1))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", sizes[0]])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", sizes[-1]])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def cnn() -> onnx.ModelProto:
    rng = np.random.default_rng(2)
    c1, c2, classes = 8, 16, 10
    inits = [
        _init(rng, "conv1_w", [c1, 3, 3, 3]),
        _init(rng, "conv1_b", [c1], 0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, c1).astype(np.float32), "bn_scale"),
        _init(rng, "bn_bias", [c1], 0.1),
        _init(rng, "bn_mean", [c1], 0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, c1).astype(np.float32), "bn_var"),
        _init(rng, "conv2_w", [c2, c1, 3, 3]),
        _init(rng, "conv2_b", [c2], 0.1),
        _init(rng, "fc_w", [classes, c2]),
        _init(rng, "fc_b", [classes], 0.1),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv1_w", "conv1_b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["bn"], name="bn", epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2_w", "conv2_b"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", classes])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def main() -> None:
    for name, build in (("mlp", mlp), ("cnn", cnn)):
        model = build()
        onnx.checker.check_model(model)
        path = os.path.join(HERE, f"{name}.onnx")
        tmp = path + ".tmp"
        onnx.save(model, tmp)
        os.replace(tmp, path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
