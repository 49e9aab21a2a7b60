"""Winograd F(2x2, 3x3) convolution: the transforms' algebra (against a direct convolution in
numpy), the winograd-conv rewrite (graph interpreter before and after; where it refuses), the
lowering of its transforms (one shared nest each), and compiled models against numpy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region, SSAValue

import lamina
from lamina.compiler import pipeline, run_passes
from lamina.dialects import winograd
from lamina.dialects.graph import Graph
from lamina.dialects.registry import make_context
from lamina.interpreter.graph import run_function
from lamina.ir.types import TensorType, f32
from lamina.ir.verify import verify_op_tree
from lamina.passes.graph.canonicalize import Canonicalize
from lamina.passes.graph import winograd_conv
from lamina.passes.graph.winograd_conv import FULL_RATE_512_BIT, HALF_RATE, WinogradConvPass, tiles_that_pay
from lamina.targets import host as host_module
from lamina.targets.host import detected_host


def direct_conv(x: np.ndarray, w: np.ndarray, pads=(1, 1, 1, 1), bias=None) -> np.ndarray:
    top, left, bottom, right = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh, ow = xp.shape[2] - 2, xp.shape[3] - 2
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for ky in range(3):
        for kx in range(3):
            out += np.einsum("oc,nchw->nohw", w[:, :, ky, kx], xp[:, :, ky : ky + oh, kx : kx + ow])
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------ the algebra


@settings(max_examples=60, deadline=None)
@given(
    out=st.sampled_from(sorted(winograd.VARIANTS)),
    n=st.integers(1, 2),
    c=st.integers(1, 4),
    o=st.integers(1, 4),
    h=st.integers(1, 11),
    w=st.integers(1, 11),
    pads=st.tuples(*[st.integers(0, 2)] * 4),
)
def test_transforms_around_the_gemms_are_the_convolution(out, n, c, o, h, w, pads):
    top, left, bottom, right = pads
    oh, ow = h + top + bottom - 2, w + left + right - 2
    if oh < 1 or ow < 1:
        return
    x, weight = rand(n, c, h, w, seed=1).astype(np.float64), rand(o, c, 3, 3, seed=2).astype(np.float64)
    th, tw = winograd.tile_counts(oh, ow, out)
    padded = np.pad(x, ((0, 0), (0, 0), (top, out * th + 2 - h - top), (left, out * tw + 2 - w - left)))
    tiles = winograd.input_reference(padded.transpose(0, 2, 3, 1), (th, tw), out)
    assert tiles.shape == ((out + 2) ** 2, n * th * tw, c)
    y = winograd.output_reference(tiles @ winograd.transform_weights(weight, out), (oh, ow))
    np.testing.assert_allclose(y.transpose(0, 3, 1, 2), direct_conv(x, weight, pads), rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------ the rewrite


class Builder:
    def __init__(self, *arg_types):
        self.block = Block(arg_types=list(arg_types))

    def op(self, name: str, operands, attrs=None) -> SSAValue:
        op = Graph[name].build(list(operands), attrs or {})
        self.block.add_op(op)
        return op.results[0]

    def const(self, value) -> SSAValue:
        return self.op("const", [], {"value": np.asarray(value, dtype=np.float32)})

    def module(self, *results) -> ModuleOp:
        self.block.add_op(func.ReturnOp(*results))
        types = [a.type for a in self.block.args]
        return ModuleOp([func.FuncOp("main", (types, [r.type for r in results]), Region(self.block))])


def conv_module(c=16, o=16, h=12, w=12, pads=(1, 1, 1, 1), bias=False, strides=(1, 1), dilations=(1, 1), kernel=3, weight_arg=False):
    arg_types = [TensorType.of([1, c, h, w], f32)]
    if weight_arg:
        arg_types.append(TensorType.of([o, c, kernel, kernel], f32))
    b = Builder(*arg_types)
    weight = b.block.args[1] if weight_arg else b.const(rand(o, c, kernel, kernel, seed=3))
    operands = [b.block.args[0], weight] + ([b.const(rand(o, seed=4))] if bias else [])
    y = b.op("conv2d", operands, {"pads": list(pads), "strides": list(strides), "dilations": list(dilations)})
    return b.module(y)


def ops_of(module: ModuleOp) -> list[str]:
    return [op.name for op in next(iter(module.ops)).body.block.ops]


def rewrite(module: ModuleOp, *passes) -> ModuleOp:
    for p in passes:
        p.apply(make_context(), module)
        verify_op_tree(module, f"after {p.name}")
    return module


@pytest.mark.parametrize(
    "shape",
    [
        dict(),  # 12x12 -> 36 tiles
        dict(h=11, w=13),  # odd: the last tile row and column are cropped
        dict(pads=(0, 2, 1, 0), h=14, w=12),  # asymmetric pads
        dict(bias=True, o=24),
        dict(c=20, o=32, h=9, w=16),
        dict(h=9, w=9),  # 25 tiles, the fewest it takes on any host
        dict(h=28, w=28),  # F(4x4, 3x3): 49 4x4 tiles
        dict(h=27, w=30, bias=True),  # F(4x4, 3x3), cropped
    ],
    ids=["square", "odd", "asymmetric-pads", "bias", "wide", "fewest-tiles", "large-tiles", "large-tiles-cropped"],
)
def test_rewrite_keeps_what_the_conv_computes(shape):
    module = conv_module(**shape)
    x = rand(1, shape.get("c", 16), shape.get("h", 12), shape.get("w", 12), seed=5)
    (before,) = run_function(module, x)
    rewrite(module, WinogradConvPass())
    ops = ops_of(module)
    assert "graph.conv2d" not in ops and "graph.winograd_input" in ops and "graph.winograd_output" in ops
    (after,) = run_function(module, x)
    assert after.shape == before.shape and after.dtype == np.float32
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "why, shape",
    [
        ("stride 2", dict(strides=(2, 2), h=24, w=24)),
        ("dilated", dict(dilations=(2, 2), h=16, w=16)),
        ("1x1 kernel", dict(kernel=1, pads=(0, 0, 0, 0))),
        ("weights computed at run time", dict(weight_arg=True)),
        ("too few tiles (9)", dict(h=6, w=6)),
        ("too few channels", dict(c=8)),
    ],
)
def test_rewrite_leaves_convs_it_would_not_speed_up(why, shape):
    module = rewrite(conv_module(**shape), WinogradConvPass())
    assert "graph.conv2d" in ops_of(module), why


@pytest.mark.parametrize(
    "cpu, bits, fewest",
    [
        ("znver5", 512, FULL_RATE_512_BIT),  # 512-bit FMAs at full rate: the weights must feed twice the flops
        ("sapphirerapids", 512, FULL_RATE_512_BIT),
        ("znver4", 512, HALF_RATE),  # 512-bit vectors in two 256-bit halves
        ("znver5", 256, HALF_RATE),  # narrowed with LAMINA_VECTOR_BITS=256
        ("znver3", 256, HALF_RATE),
    ],
)
def test_tiles_that_pay_follow_the_hosts_arithmetic_rate(cpu, bits, fewest):
    host = dataclasses.replace(detected_host(), cpu=cpu, vector_bits=bits)
    assert tiles_that_pay(host) == fewest


def test_pass_without_options_asks_the_host(monkeypatch):
    planned = dataclasses.replace(detected_host(), cpu="znver4", vector_bits=512)
    monkeypatch.setattr(host_module, "detected_host", lambda: planned)
    monkeypatch.delenv(host_module.VECTOR_BITS_VARIABLE, raising=False)
    assert output_tiles_chosen(rewrite(conv_module(h=7, w=7), WinogradConvPass())) == [2]
    assert output_tiles_chosen(rewrite(conv_module(h=14, w=14), WinogradConvPass())) == [4]
    monkeypatch.setattr(host_module, "detected_host", lambda: dataclasses.replace(planned, cpu="znver5"))
    assert "graph.conv2d" in ops_of(rewrite(conv_module(h=7, w=7), WinogradConvPass()))
    assert output_tiles_chosen(rewrite(conv_module(h=14, w=14), WinogradConvPass())) == [2]
    assert output_tiles_chosen(rewrite(conv_module(h=14, w=14), WinogradConvPass(min_large_tiles=16))) == [4]


def resnet_block_module(c=16, hw=12):
    """conv-bias-relu-conv-bias + x, relu: the transposes between the convs cancel."""
    b = Builder(TensorType.of([1, c, hw, hw], f32))
    x = b.block.args[0]
    bias = [b.const(rand(c, 1, 1, seed=s)) for s in (6, 7)]
    h = b.op("relu", [b.op("add", [b.op("conv2d", [x, b.const(rand(c, c, 3, 3, seed=8) * 0.2)], {"pads": [1, 1, 1, 1]}), bias[0]])])
    y = b.op("add", [b.op("conv2d", [h, b.const(rand(c, c, 3, 3, seed=9) * 0.2)], {"pads": [1, 1, 1, 1]}), bias[1]])
    return b.module(b.op("relu", [b.op("add", [y, x])]))


def resnet_block_reference(x, c=16):
    def conv(v, seed):
        return direct_conv(v, (rand(c, c, 3, 3, seed=seed) * 0.2).astype(np.float64))

    h = np.maximum(conv(x, 8) + rand(c, 1, 1, seed=6), 0)
    return np.maximum(conv(h, 9) + rand(c, 1, 1, seed=7) + x, 0)


def test_layout_changes_cancel_between_winograd_convs():
    module = rewrite(resnet_block_module(), WinogradConvPass(), Canonicalize())
    ops = ops_of(module)
    # One transpose into NHWC for the block's input and one back for its output; the bias adds,
    # ReLUs and the residual add run on the NHWC tensors in between.
    assert ops.count("graph.transpose") == 2, ops
    x = rand(1, 16, 12, 12, seed=10)
    np.testing.assert_allclose(run_function(module, x)[0], resnet_block_reference(x), rtol=1e-4, atol=1e-4)


def output_tiles_chosen(module: ModuleOp) -> list[int]:
    return [op.attr_values()["output_tile"] for op in next(iter(module.ops)).body.block.ops if op.name == "graph.winograd_input"]


def output_tiles_at(hw: int, fewest) -> list[int]:
    """The variants chosen for an hw x hw conv (its 16 channels keep the interpreter quick; the
    rule counts tiles only); [] where it stays direct."""
    module = rewrite(conv_module(h=hw, w=hw), WinogradConvPass(min_large_tiles=fewest.large, min_tiles=fewest.small))
    return output_tiles_chosen(module)


@pytest.mark.parametrize(
    "hw, full_rate, half_rate",
    [
        (7, [], [2]),  # ResNet's 7x7 stage: 16 2x2 tiles, 4 4x4 ones
        (8, [], [2]),
        (9, [2], [2]),  # 25 2x2 tiles
        (12, [2], [2]),  # 36 2x2 tiles, 9 4x4 ones
        (14, [2], [4]),  # ResNet's 14x14 stage: 49 2x2 tiles, 16 4x4 ones, whose weights stream on Zen 5
        (24, [2], [4]),  # 36 4x4 tiles, fewer than the 49 a full-rate host takes
        (25, [4], [4]),  # 49, the last row and column cropped to one
        (28, [4], [4]),  # ResNet's 28x28 stage
        (56, [4], [4]),
    ],
)
def test_variant_by_tile_count_and_arithmetic_rate(hw, full_rate, half_rate):
    assert output_tiles_at(hw, FULL_RATE_512_BIT) == full_rate
    assert output_tiles_at(hw, HALF_RATE) == half_rate


# ------------------------------------------------------------------ lowering


def lowered_nests(module: ModuleOp) -> list[list]:
    spec = pipeline(3, 1)
    run_passes(module, spec[: spec.index("lower-graph-to-loop") + 1])
    fn = next(iter(module.ops))
    nests = [op for op in fn.body.block.ops if op.name == "loop.for"]
    return [[op for op in nest.walk() if op.name == "loop.block"] for nest in nests]


def stores_in(block) -> int:
    return sum(1 for op in block.walk() if op.name == "loop.store")


def test_each_transform_is_one_nest_with_a_store_per_position():
    nests = lowered_nests(conv_module())
    blocks = {blocks[0].attr("label"): blocks[0] for blocks in nests}
    transform_in, transform_out = blocks["winograd_input"], blocks["winograd_output"]
    assert stores_in(transform_in) == 16 and stores_in(transform_out) == 4
    # 16 positions share the 16 elements of a tile: each is loaded once
    assert sum(1 for op in transform_in.walk() if op.name == "loop.load") == 16


def test_large_tile_transforms_have_a_store_per_position_and_load_each_input_once():
    nests = lowered_nests(conv_module(h=28, w=28))
    blocks = {blocks[0].attr("label"): blocks[0] for blocks in nests}
    transform_in, transform_out = blocks["winograd_input"], blocks["winograd_output"]
    assert stores_in(transform_in) == 36 and stores_in(transform_out) == 16
    assert sum(1 for op in transform_in.walk() if op.name == "loop.load") == 36
    assert sum(1 for op in transform_out.walk() if op.name == "loop.load") == 36


def float_ops_in(block) -> int:
    return sum(1 for op in block.walk() if op.name in ("arith.addf", "arith.subf", "arith.mulf", "arith.negf"))


def test_transforms_are_separable_sums_computed_once():
    # B^T d B as (B^T d) B, each partial sum shared by the statements it appears in: F(4x4)'s
    # input transform takes 276 float ops, where one sum per position takes 880 (484 terms);
    # F(2x2)'s 32, where it took 48.
    for hw, most_in, most_out in ((12, 32, 24), (28, 276, 200)):
        nests = lowered_nests(conv_module(h=hw, w=hw))
        blocks = {blocks[0].attr("label"): blocks[0] for blocks in nests}
        assert float_ops_in(blocks["winograd_input"]) <= most_in
        assert float_ops_in(blocks["winograd_output"]) <= most_out


def test_an_odd_output_splits_the_output_transform_by_extent():
    nests = lowered_nests(conv_module(h=11, w=11))
    labels = [blocks[0].attr("label") for blocks in nests]
    # rows and columns 0 of a tile cover 6 tiles, 1 only 5: four different iteration spaces
    assert sum(label.startswith("winograd_output") for label in labels) == 4
    assert sum(label.startswith("winograd_input") for label in labels) == 1


def scheduled_nests(module: ModuleOp, threads: int) -> dict[str, bool]:
    """Each top-level nest's first block label -> whether any of its loops runs across threads."""
    spec = pipeline(3, threads)
    run_passes(module, spec[: next(i for i, p in enumerate(spec) if p.startswith("default-schedule")) + 1])
    fn = next(iter(module.ops))
    found = {}
    for nest in (op for op in fn.body.block.ops if op.name == "loop.for"):
        label = next(op for op in nest.walk() if op.name == "loop.block").attr("label")
        found[label] = any(op.name == "loop.for" and op.attr("kind") == "parallel" for op in nest.walk())
    return found


def relu_module(shape):
    b = Builder(TensorType.of(shape, f32))
    return b.module(b.op("relu", [b.block.args[0]], {}))


def test_transforms_of_few_tiles_and_many_channels_run_across_threads(monkeypatch):
    # ResNet's 14x14 stage as F(2x2) (a host computing 512-bit vectors at full rate): 49 tiles x
    # 256 channels, 12544 iterations, each reading 16 elements
    monkeypatch.setattr(winograd_conv, "tiles_that_pay", lambda host: FULL_RATE_512_BIT)
    parallel = scheduled_nests(conv_module(c=256, o=256, h=14, w=14), threads=2)
    assert parallel["winograd_input"] and parallel["winograd_output"]
    assert not any(scheduled_nests(conv_module(c=256, o=256, h=14, w=14), threads=1).values())
    # as many iterations of an op reading one element do not pay for a fork
    assert scheduled_nests(relu_module([1, 256, 7, 7]), threads=2) == {"relu": False}
    assert scheduled_nests(relu_module([1, 256, 14, 14]), threads=2) == {"relu": True}


# ------------------------------------------------------------------ compiled


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_resnet_block_matches_numpy(target, threads):
    model = lamina.compile(resnet_block_module(), target=target, threads=threads)
    x = rand(1, 16, 12, 12, seed=11)
    np.testing.assert_allclose(model(x)[0], resnet_block_reference(x), rtol=1e-4, atol=1e-4)


def test_compiled_conv_with_transforms_across_threads_matches_numpy():
    model = lamina.compile(conv_module(c=256, o=256, h=14, w=14), threads=2)
    x = rand(1, 256, 14, 14, seed=13)
    expected = direct_conv(x, rand(256, 256, 3, 3, seed=3).astype(np.float64))
    np.testing.assert_allclose(model(x)[0], expected, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_large_tile_conv_matches_numpy(target, threads):
    # 29x30 outputs: the last 4x4 tile row keeps one row and the last column two
    module = conv_module(c=32, o=48, h=29, w=30, bias=True)
    assert output_tiles_chosen(rewrite(conv_module(c=32, o=48, h=29, w=30, bias=True), WinogradConvPass())) == [4]
    model = lamina.compile(module, target=target, threads=threads)
    x = rand(1, 32, 29, 30, seed=14)
    expected = direct_conv(x, rand(48, 32, 3, 3, seed=3).astype(np.float64), (1, 1, 1, 1), rand(48, seed=4))
    # F(4x4, 3x3) scales inputs by up to 25 and products by up to 64 before the sums cancel, so
    # its rounding error grows with the outputs' magnitude (here up to ~100), not each output's
    np.testing.assert_allclose(model(x)[0], expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_compiled_conv_with_odd_size_and_bias_matches_numpy():
    module = conv_module(c=16, o=32, h=13, w=9, bias=True, pads=(1, 0, 1, 2))
    model = lamina.compile(module, threads=2)
    x = rand(1, 16, 13, 9, seed=12)
    expected = direct_conv(x, rand(32, 16, 3, 3, seed=3).astype(np.float64), (1, 0, 1, 2), rand(32, seed=4))
    np.testing.assert_allclose(model(x)[0], expected, rtol=1e-4, atol=1e-4)
