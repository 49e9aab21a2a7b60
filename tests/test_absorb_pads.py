"""absorb-pads: a zero-padded copy becomes the buffer itself (producers write its interior,
readers read there, a border nest per padded side). The loop interpreter computes the same
before and after; the compiled code matches numpy; what the pass must not touch stays."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context

import lamina
from lamina.compiler import pipeline, run_passes
from lamina.interpreter.loop import compile_function
from lamina.ir.printer import print_module
from lamina.ir.verify import verify_op_tree
from lamina.parser import parse_module
from lamina.passes.loop.absorb_pads import AbsorbPads, border_boxes
from lamina.tools.opt import parse_pipeline_spec

SCHEDULED = "lower-graph-to-loop,simplify-indices,default-schedule{threads=1}"

# relu -> pad -> conv (the pad is a nest of its own, as before every padded conv), and a second
# reader of the relu's output when `shared`.
RELU_PAD_CONV = """
func.func @main(%x: tensor<1 x {c} x {h} x {w} x f32>, %k: tensor<2 x {c} x 2 x 2 x f32>) -> ({results}) {{
  %r = graph.relu %x : tensor<1 x {c} x {h} x {w} x f32>
  %p = graph.pad %r {{pads = [0, 0, {t}, {l}, 0, 0, {b}, {rt}], mode = "{mode}", value = {value}}} : tensor<1 x {c} x {ph} x {pw} x f32>
  %y = graph.conv2d %p, %k : tensor<1 x 2 x {oh} x {ow} x f32>
  {extra}
  func.return {returned}
}}
"""


def relu_pad_conv(c, h, w, pads, shared=False, mode="constant", value=0.0):
    t, l, b, rt = pads
    ph, pw = h + t + b, w + l + rt
    results = [f"tensor<1 x 2 x {ph - 1} x {pw - 1} x f32>"]
    returned = ["%y"]
    extra = ""
    if shared:
        extra = f"%z = graph.exp %r : tensor<1 x {c} x {h} x {w} x f32>"
        results.append(f"tensor<1 x {c} x {h} x {w} x f32>")
        returned.append("%z")
    text = RELU_PAD_CONV.format(
        c=c, h=h, w=w, t=t, l=l, b=b, rt=rt, ph=ph, pw=pw, oh=ph - 1, ow=pw - 1, mode=mode, value=value,
        results=", ".join(results), extra=extra, returned=", ".join(returned) + " : " + ", ".join(results),
    )
    return parse_module(text)


def scheduled(module, threads: int = 1):
    for p in parse_pipeline_spec(SCHEDULED.replace("threads=1", f"threads={threads}")):
        p.apply(Context(), module)
    return module


def absorbed(module):
    out = module.clone()
    AbsorbPads().apply(Context(), out)
    verify_op_tree(out)
    return out


def reference(x, k, pads, mode="constant", value=0.0):
    t, l, b, rt = pads
    r = np.maximum(x, 0)
    widths = ((0, 0), (0, 0), (t, b), (l, rt))
    p = np.pad(r, widths, mode=mode, constant_values=value) if mode == "constant" else np.pad(r, widths, mode=mode)
    oh, ow = p.shape[2] - 1, p.shape[3] - 1
    y = np.zeros((1, k.shape[0], oh, ow), np.float64)
    for ky in range(2):
        for kx in range(2):
            y += np.einsum("oc,nchw->nohw", k[:, :, ky, kx], p[:, :, ky : ky + oh, kx : kx + ow])
    return y.astype(np.float32), np.exp(r)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 3), st.integers(2, 5), st.integers(2, 9),
    st.tuples(*[st.integers(0, 2)] * 4).filter(any), st.booleans(), st.sampled_from([0.0, -1.5]),
)
def test_absorbed_pad_computes_the_same(c, h, w, pads, shared, value):
    module = scheduled(relu_pad_conv(c, h, w, pads, shared, value=value))
    after = absorbed(module)
    text = print_module(after)
    assert 'label = "pad"' not in text and "pad_border" in text
    rng = np.random.default_rng(c * 100 + h * 10 + w)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    k = rng.standard_normal((2, c, 2, 2)).astype(np.float32)
    want = compile_function(module).run([x, k])
    got = compile_function(after).run([x, k])
    for g, b in zip(got, want):
        np.testing.assert_array_equal(g, b)
    y, z = reference(x, k, pads, value=value)
    np.testing.assert_allclose(got[0], y, rtol=1e-4, atol=1e-4)
    if shared:
        np.testing.assert_allclose(got[1], z, rtol=1e-6)


@pytest.mark.parametrize("mode", ["edge", "reflect"])
def test_other_pad_modes_are_kept(mode):
    module = scheduled(relu_pad_conv(2, 4, 5, (1, 1, 1, 1), mode=mode))
    text = print_module(absorbed(module))
    assert 'label = "pad"' in text and "pad_border" not in text


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(2, 6), st.integers(2, 12), st.tuples(*[st.integers(0, 2)] * 4).filter(any), st.sampled_from([0.0, -2.0]))
def test_pad_of_a_function_argument_is_split(c, h, w, pads, value):
    """The argument cannot be written padded: the pad nest becomes its border plus a copy of the
    interior, rows outside and the last axis vectorized, with the same result bit for bit."""
    t, l, b, r = pads
    ph, pw = h + t + b, w + l + r
    padded, out = f"tensor<1x{c}x{ph}x{pw}xf32>", f"tensor<1x2x{ph - 1}x{pw - 1}xf32>"
    module = scheduled(parse_module(f"""
func.func @main(%x: tensor<1x{c}x{h}x{w}xf32>, %k: tensor<2x{c}x2x2xf32>) -> {out} {{
  %p = graph.pad %x {{pads = [0, 0, {t}, {l}, 0, 0, {b}, {r}], value = {value}}} : {padded}
  %y = graph.conv2d %p, %k : {out}
  func.return %y : {out}
}}
"""))
    after = absorbed(module)
    text = print_module(after)
    assert 'label = "pad"' not in text and "pad_border" in text
    assert re.search(r'label = "pad_interior_d3", vectorize = true', text)
    rng = np.random.default_rng(c * 100 + h * 10 + w)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    k = rng.standard_normal((2, c, 2, 2)).astype(np.float32)
    want = compile_function(module).run([x, k])[0]
    np.testing.assert_array_equal(compile_function(after).run([x, k])[0], want)
    p = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value).astype(np.float64)
    ref = sum(np.einsum("oc,nchw->nohw", k[:, :, ky, kx], p[:, :, ky : ky + ph - 1, kx : kx + pw - 1]) for ky in range(2) for kx in range(2))
    np.testing.assert_allclose(want, ref, rtol=1e-4, atol=1e-4)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 5), st.integers(2, 7), st.integers(2, 19), st.tuples(*[st.integers(0, 2)] * 4).filter(any), st.sampled_from([0.0, -2.0]), st.sampled_from([1, 2]))
def test_pad_of_an_argument_read_one_channel_per_iteration_moves_into_that_loop(c, h, w, pads, value, threads):
    """A depthwise conv reads channel o of the padded argument in iteration o of its outermost
    loop and nowhere else: the pad runs there, one channel's border and interior rows at the
    start of each iteration, on the thread that reads them, and no pad nest is left before it.
    The result is the same bit for bit, and numpy's."""
    t, l, b, r = pads
    ph, pw = h + t + b, w + l + r
    padded, out = f"tensor<1x{c}x{ph}x{pw}xf32>", f"tensor<1x{c}x{ph - 2}x{pw - 2}xf32>"
    if ph < 3 or pw < 3:
        return
    module = scheduled(parse_module(f"""
func.func @main(%x: tensor<1x{c}x{h}x{w}xf32>, %k: tensor<{c}x1x3x3xf32>) -> {out} {{
  %p = graph.pad %x {{pads = [0, 0, {t}, {l}, 0, 0, {b}, {r}], value = {value}}} : {padded}
  %y = graph.conv2d %p, %k {{groups = {c}}} : {out}
  func.return %y : {out}
}}
"""), threads)
    after = absorbed(module)
    fn = next(iter(after.ops))
    tops = [op.attr("label") for op in fn.body.block.ops if op.name == "loop.for"]
    if tops[-1] == "o":
        # The channels are the outermost loop (with one channel, or fused with the rows for
        # the threads, they are not, and the pad stays split before the conv).
        assert not any(label.startswith("pad") for label in tops), tops
        channel_loop = next(op for op in fn.body.block.ops if op.name == "loop.for")
        inside = [op.attr("label") for op in channel_loop.regions[0].block.ops if op.name == "loop.for"]
        assert inside[-2] == "pad_interior_rows" and inside[0].startswith("pad_border"), inside
    else:
        assert tops[:2] == ["pad_border_d0", "pad_interior_rows"], tops
    rng = np.random.default_rng(c * 100 + h * 10 + w)
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    k = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    want = compile_function(module).run([x, k])[0]
    np.testing.assert_array_equal(compile_function(after).run([x, k])[0], want)
    p = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value).astype(np.float64)
    ref = sum(p[:, :, ky : ky + ph - 2, kx : kx + pw - 2] * k[None, :, 0, ky, kx, None, None] for ky in range(3) for kx in range(3))
    np.testing.assert_allclose(want, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", [1, 2])
def test_depthwise_conv_of_an_argument_pads_each_channel_where_it_reads_it(threads):
    """The benchmark's shape (64 channels, 56 x 56): the channel loop is outermost, the pad runs
    inside it, and only the conv's nest is left."""
    module = scheduled(parse_module("""
func.func @main(%x: tensor<1x64x56x56xf32>, %k: tensor<64x1x3x3xf32>) -> tensor<1x64x56x56xf32> {
  %p = graph.pad %x {pads = [0, 0, 1, 1, 0, 0, 1, 1]} : tensor<1x64x58x58xf32>
  %y = graph.conv2d %p, %k {groups = 64} : tensor<1x64x56x56xf32>
  func.return %y : tensor<1x64x56x56xf32>
}
"""), threads)
    fn = next(iter(absorbed(module).ops))
    tops = [op for op in fn.body.block.ops if op.name == "loop.for"]
    assert [op.attr("label") for op in tops] == ["o"]
    assert tops[0].attr("kind") == ("parallel" if threads > 1 else "serial")
    inside = [op.attr("label") for op in tops[0].regions[0].block.ops if op.name == "loop.for"]
    assert inside[:5] == ["pad_border_b0_d2", "pad_border_b1_d2", "pad_border_b2_d2", "pad_border_b3_d2", "pad_interior_rows"], inside


def test_pad_read_across_channels_stays_a_nest_of_its_own():
    """A conv reading every channel in each iteration of its outer loop cannot take one
    channel's pad per iteration: the pad stays split before it."""
    module = scheduled(parse_module("""
func.func @main(%x: tensor<1x3x6x6xf32>, %k: tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %p = graph.pad %x {pads = [0, 0, 1, 1, 0, 0, 1, 1]} : tensor<1x3x8x8xf32>
  %y = graph.conv2d %p, %k : tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}
"""), 2)
    fn = next(iter(absorbed(module).ops))
    tops = [op.attr("label") for op in fn.body.block.ops if op.name == "loop.for"]
    assert tops[:2] == ["pad_border_d0", "pad_interior_rows"], tops


def test_returned_pad_is_split_not_absorbed():
    """A pad that is returned keeps its source (the relu still writes its own buffer); the pad
    nest is split into its border and the interior copy."""
    module = parse_module("""
func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x6x6xf32> {
  %r = graph.relu %x : tensor<1x2x4x4xf32>
  %p = graph.pad %r {pads = [0, 0, 1, 1, 0, 0, 1, 1]} : tensor<1x2x6x6xf32>
  func.return %p : tensor<1x2x6x6xf32>
}
""")
    text = print_module(absorbed(scheduled(module)))
    assert "loop.alloc : memref<1x2x4x4xf32>" in text
    assert "pad_border" in text and "pad_interior" in text


def test_border_boxes_cover_the_border_once():
    shape, low, high = [3, 7, 6], [1, 0, 2], [0, 0, 1]
    seen = np.zeros(shape, int)
    for box in border_boxes(shape, low, high):
        seen[tuple(slice(a, b) for a, b in box)] += 1
    interior = np.zeros(shape, int)
    interior[1:3, :, 2:5] = 1
    np.testing.assert_array_equal(seen, 1 - interior)


@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_resnet_block_matches_numpy(threads):
    """The vectorized producer stores rows at an offset into the padded buffer; the 3x3 conv
    after reads them (and the border) as it read the pad's copy. The input's pad is split."""
    text = """
func.func @main(%x: tensor<1x16x10x12xf32>, %w1: tensor<32x16x3x3xf32>, %w2: tensor<32x32x3x3xf32>) -> tensor<1x32x10x12xf32> {
  %c = graph.conv2d %x, %w1 {pads = [1, 1, 1, 1]} : tensor<1x32x10x12xf32>
  %r = graph.relu %c : tensor<1x32x10x12xf32>
  %d = graph.conv2d %r, %w2 {pads = [1, 1, 1, 1]} : tensor<1x32x10x12xf32>
  %s = graph.add %d, %r : tensor<1x32x10x12xf32>
  func.return %s : tensor<1x32x10x12xf32>
}
"""
    loops = parse_module(text)
    run_passes(loops, [s for s in pipeline(3, threads) if not s.startswith("lower-loop-to-device")])
    printed = print_module(loops)
    # The input's pad is split (border, interior copy); the relu writes the second one's interior.
    assert 'label = "pad_interior"' in printed and 'label = "pad_1"' not in printed and "pad_1_border" in printed
    assert 'label = "pad"' not in printed and "pad_1_interior" not in printed
    model = lamina.compile(parse_module(text), threads=threads)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 16, 10, 12)).astype(np.float32)
    w1 = rng.standard_normal((32, 16, 3, 3)).astype(np.float32) * 0.2
    w2 = rng.standard_normal((32, 32, 3, 3)).astype(np.float32) * 0.2

    def conv(a, w):
        p = np.pad(a.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
        out = np.zeros((1, w.shape[0], a.shape[2], a.shape[3]))
        for ky in range(3):
            for kx in range(3):
                out += np.einsum("oc,nchw->nohw", w[:, :, ky, kx], p[:, :, ky : ky + a.shape[2], kx : kx + a.shape[3]])
        return out

    r = np.maximum(conv(x, w1), 0)
    want = conv(r, w2) + r
    np.testing.assert_allclose(model(x, w1, w2)[0], want, rtol=1e-4, atol=1e-4)


def test_compiled_stem_with_a_minus_inf_border_matches_numpy():
    """conv -> relu -> max pool: the ReLU and the bias move after the pool (canonicalize), the
    pool reads a -inf-bordered copy (explicit-padding) that the conv writes directly (absorb)."""
    text = """
func.func @main(%x: tensor<1x3x20x20xf32>, %w: tensor<32x3x3x3xf32>) -> tensor<1x32x5x5xf32> {
  %b = graph.const dense<[-0.5, 0.25, 1.0, -2.0, 0.0, 0.5, -1.0, 0.75, -0.5, 0.25, 1.0, -2.0, 0.0, 0.5, -1.0, 0.75, -0.5, 0.25, 1.0, -2.0, 0.0, 0.5, -1.0, 0.75, -0.5, 0.25, 1.0, -2.0, 0.0, 0.5, -1.0, 0.75]> : tensor<32xf32>
  %c = graph.conv2d %x, %w, %b {strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x32x10x10xf32>
  %r = graph.relu %c : tensor<1x32x10x10xf32>
  %p = graph.max_pool2d %r {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x32x5x5xf32>
  func.return %p : tensor<1x32x5x5xf32>
}
"""
    loops = parse_module(text)
    run_passes(loops, [s for s in pipeline(3, 1) if not s.startswith("lower-loop-to-device")])
    assert "-inf" in print_module(loops) and "pad_1_border" in print_module(loops)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 20, 20)).astype(np.float32)
    w = rng.standard_normal((32, 3, 3, 3)).astype(np.float32)
    bias = np.tile(np.array([-0.5, 0.25, 1.0, -2.0, 0.0, 0.5, -1.0, 0.75]), 4).reshape(1, 32, 1, 1)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((1, 32, 10, 10))
    for ky in range(3):
        for kx in range(3):
            conv += np.einsum("oc,nchw->nohw", w[:, :, ky, kx], xp[:, :, ky : ky + 20 : 2, kx : kx + 20 : 2])
    relu = np.pad(np.maximum(conv + bias, 0), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    want = np.full((1, 32, 5, 5), -np.inf)
    for ky in range(3):
        for kx in range(3):
            want = np.maximum(want, relu[:, :, ky : ky + 10 : 2, kx : kx + 10 : 2])
    got = lamina.compile(parse_module(text), threads=1)(x, w)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
