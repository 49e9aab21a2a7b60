"""The benchmark cases, each built with onnx.helper from fixed-seed random weights, the way
exporters write them (Gemm with transB, folded BatchNorm, Erf GELU, LayerNormalization, Split
for QKV)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], tuple[onnx.ModelProto, dict[str, np.ndarray]]]
    flops: float = 0.0  # multiply-adds * 2, for GFLOP/s


class GraphBuilder:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def weight(self, shape, scale: float | None = None) -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        s = scale if scale is not None else 1.0 / np.sqrt(max(1, fan_in))
        name = self.name("w")
        self.inits.append(numpy_helper.from_array((self.rng.standard_normal(shape) * s).astype(np.float32), name))
        return name

    def const(self, array: np.ndarray) -> str:
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs) -> list[str]:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.name(op + "_"), **attrs))
        return outs

    def op(self, op: str, *inputs: str, **attrs) -> str:
        return self.node(op, list(inputs), 1, **attrs)[0]

    def model(self, inputs: list[tuple[str, list]], outputs: list[tuple[str, str]]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            "bench",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
            [helper.make_tensor_value_info(v, TensorProto.FLOAT, None) for _, v in outputs],
            self.inits,
        )
        for (name, value), out in zip(outputs, graph.output):
            out.name = value
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 8
        return m


def sgemm(n: int) -> Case:
    def build():
        b = GraphBuilder(n)
        w = b.weight([n, n], scale=1.0)
        y = b.op("MatMul", "x", w)
        model = b.model([("x", [n, n])], [("y", y)])
        return model, {"x": np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)}

    return Case(f"sgemm-{n}", build, 2.0 * n**3)


def conv3x3(c: int, hw: int, depthwise: bool = False) -> Case:
    def build():
        b = GraphBuilder(c + hw)
        w = b.weight([c, 1 if depthwise else c, 3, 3])
        bias = b.weight([c], scale=0.1)
        y = b.op("Conv", "x", w, bias, pads=[1, 1, 1, 1], group=c if depthwise else 1)
        model = b.model([("x", [1, c, hw, hw])], [("y", y)])
        return model, {"x": np.random.default_rng(2).standard_normal((1, c, hw, hw)).astype(np.float32)}

    macs = c * hw * hw * 9 * (1 if depthwise else c)
    return Case(f"{'dwconv' if depthwise else 'conv3x3'}-c{c}-{hw}", build, 2.0 * macs)


def mlp(batch: int) -> Case:
    sizes = [784, 512, 256, 10]

    def build():
        b = GraphBuilder(7)
        h = "x"
        for i, (k, n) in enumerate(zip(sizes, sizes[1:])):
            h = b.op("Gemm", h, b.weight([n, k]), b.weight([n], scale=0.1), transB=1)
            if i < len(sizes) - 2:
                h = b.op("Relu", h)
        y = b.op("Softmax", h, axis=-1)
        model = b.model([("x", ["n", 784])], [("y", y)])
        return model, {"x": np.random.default_rng(3).standard_normal((batch, 784)).astype(np.float32)}

    macs = batch * sum(k * n for k, n in zip(sizes, sizes[1:]))
    return Case(f"mlp-b{batch}", build, 2.0 * macs)


def _conv_bn_relu(b: GraphBuilder, x: str, cin: int, cout: int, k: int, stride: int, relu: bool = True) -> str:
    # BatchNorm folded into the conv, as exporters do for inference.
    y = b.op("Conv", x, b.weight([cout, cin, k, k]), b.weight([cout], scale=0.1), pads=[k // 2] * 4, strides=[stride, stride])
    return b.op("Relu", y) if relu else y


def resnet18() -> Case:
    def build():
        b = GraphBuilder(18)
        h = _conv_bn_relu(b, "x", 3, 64, 7, 2)
        h = b.op("MaxPool", h, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            for block in range(2):
                s = stride if block == 0 else 1
                y = _conv_bn_relu(b, h, cin, cout, 3, s)
                y = _conv_bn_relu(b, y, cout, cout, 3, 1, relu=False)
                shortcut = h if (s == 1 and cin == cout) else _conv_bn_relu(b, h, cin, cout, 1, s, relu=False)
                h = b.op("Relu", b.op("Add", y, shortcut))
                cin = cout
        h = b.op("GlobalAveragePool", h)
        h = b.op("Flatten", h)
        y = b.op("Gemm", h, b.weight([1000, 512]), b.weight([1000], scale=0.1), transB=1)
        model = b.model([("x", [1, 3, 224, 224])], [("y", y)])
        return model, {"x": np.random.default_rng(4).standard_normal((1, 3, 224, 224)).astype(np.float32)}

    return Case("resnet18-224", build, 2 * 1.82e9)


def transformer_block(seq: int = 128, d: int = 256, heads: int = 4) -> Case:
    dh = d // heads

    def build():
        b = GraphBuilder(99)
        x = "x"
        ln1 = b.op("LayerNormalization", x, b.weight([d], scale=1.0), b.weight([d], scale=0.1), axis=-1, epsilon=1e-5)
        qkv = b.op("Add", b.op("MatMul", ln1, b.weight([d, 3 * d])), b.weight([3 * d], scale=0.1))
        q, k, v = b.node("Split", [qkv, b.const(np.array([d, d, d], np.int64))], 3, axis=-1)
        shape = b.const(np.array([1, seq, heads, dh], np.int64))

        def heads_first(t):
            return b.op("Transpose", b.op("Reshape", t, shape), perm=[0, 2, 1, 3])

        qh, kh, vh = heads_first(q), heads_first(k), heads_first(v)
        scores = b.op("MatMul", qh, b.op("Transpose", kh, perm=[0, 1, 3, 2]))
        scores = b.op("Div", scores, b.const(np.array(np.sqrt(dh), np.float32)))
        attn = b.op("MatMul", b.op("Softmax", scores, axis=-1), vh)
        merged = b.op("Reshape", b.op("Transpose", attn, perm=[0, 2, 1, 3]), b.const(np.array([1, seq, d], np.int64)))
        h = b.op("Add", x, b.op("Add", b.op("MatMul", merged, b.weight([d, d])), b.weight([d], scale=0.1)))
        ln2 = b.op("LayerNormalization", h, b.weight([d], scale=1.0), b.weight([d], scale=0.1), axis=-1, epsilon=1e-5)
        up = b.op("Add", b.op("MatMul", ln2, b.weight([d, 4 * d])), b.weight([4 * d], scale=0.1))
        # GELU as exporters write it: x * 0.5 * (1 + erf(x / sqrt(2)))
        gelu = b.op(
            "Mul",
            b.op("Mul", up, b.const(np.array(0.5, np.float32))),
            b.op("Add", b.const(np.array(1.0, np.float32)), b.op("Erf", b.op("Div", up, b.const(np.array(np.sqrt(2), np.float32))))),
        )
        y = b.op("Add", h, b.op("Add", b.op("MatMul", gelu, b.weight([4 * d, d])), b.weight([d], scale=0.1)))
        model = b.model([("x", [1, seq, d])], [("y", y)])
        return model, {"x": np.random.default_rng(5).standard_normal((1, seq, d)).astype(np.float32)}

    macs = seq * d * 3 * d + 2 * seq * seq * d + seq * d * d + 2 * seq * d * 4 * d
    return Case(f"transformer-s{seq}-d{d}", build, 2.0 * macs)


CASES: dict[str, Case] = {
    c.name: c
    for c in [
        sgemm(256),
        sgemm(512),
        sgemm(1024),
        sgemm(2048),
        conv3x3(64, 56),
        conv3x3(128, 28),
        conv3x3(256, 14),
        conv3x3(64, 56, depthwise=True),
        mlp(1),
        mlp(64),
        resnet18(),
        transformer_block(),
    ]
}
QUICK = ["sgemm-256", "conv3x3-c64-56", "mlp-b1", "mlp-b64", "transformer-s128-d256"]
