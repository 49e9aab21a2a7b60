"""The default schedule's register tiles, panel packing, stride-2 vector loads, widened conv
rows and epilogue fusion: each is checked on the scheduled loop IR (the transformation really
happened) and by running the compiled model against numpy (it computes the same thing), for
the llvm target and the C target."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import lamina
from lamina.compiler import pipeline, run_passes, to_graph_module
from lamina.interpreter.graph import run_function as run_graph
from lamina.ir.printer import nested_text, print_module
from lamina.passes.schedule.nest import enclosing_loops

# The tiles asserted here are planned for 8-float vectors; tests of wider ones ask for them.
pytestmark = pytest.mark.usefixtures("avx2_vectors")


def scheduled_module(text: str, threads: int = 2):
    module = to_graph_module(text)
    run_passes(module, [s for s in pipeline(3, threads) if not s.startswith("lower-loop-to-device")])
    return module


def scheduled_ir(text: str, threads: int = 2) -> str:
    return print_module(scheduled_module(text, threads))


def matmul_text(m, k, n, batch: str = "", epilogue: bool = False) -> str:
    lead = f"{batch} x " if batch else ""
    out = f"tensor<{lead}{m} x {n} x f32>"
    lines = [f"  %y = graph.matmul %a, %b : {out}"]
    result = "%y"
    if epilogue:
        lines += [f"  %z = graph.add %y, %c : {out}", f"  %r = graph.relu %z : {out}"]
        result = "%r"
    extra = f", %c: tensor<{n} x f32>" if epilogue else ""
    return (
        f"func.func @main(%a: tensor<{lead}{m} x {k} x f32>, %b: tensor<{k} x {n} x f32>{extra}) -> {out} {{\n"
        + "\n".join(lines)
        + f"\n  func.return {result} : {out}\n}}"
    )


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("m,k,n", [(64, 48, 32), (20, 33, 40), (5, 7, 24), (64, 16, 12)])
@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_tiles_compute_the_product(target, m, k, n, threads):
    model = lamina.compile(matmul_text(m, k, n, epilogue=True), target=target, threads=threads)
    a, b, c = rand(m, k), rand(k, n, seed=1), rand(n, seed=2)
    np.testing.assert_allclose(model(a, b, c)[0], np.maximum(a @ b + c, 0), rtol=1e-4, atol=1e-4)


def test_matmul_nest_gets_a_register_tile_with_its_epilogue_inside():
    ir = scheduled_ir(matmul_text(64, 48, 32, epilogue=True))
    assert re.search(r"unroll = [468]\b", ir), "the rows of the tile are unrolled"
    assert 'label = "matmul_init"' in ir, "the init is split off the reduction"
    # the bias add inlined into the relu (elementwise fusion), and that computed inside the
    # matmul's nest (epilogue fusion)
    assert 'label = "add"' not in ir
    nests = [chunk for chunk in ir.split("\n  loop.for")[1:]]
    # (as copies: the full tiles', and the last tile's of 4 rows)
    assert len(nests) == 1
    assert re.search(r'label = "relu(_full|_rows4)?"', nests[0]) and re.search(r'label = "matmul(_full|_rows4)?"', nests[0])


def test_constant_operand_is_packed_into_panels():
    b = rand(48, 32, seed=3)
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [64, 48])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 32])],
        [numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    module = to_graph_module(model)
    run_passes(module, [s for s in pipeline(3, 2) if not s.startswith("lower-loop-to-device")])
    ir = print_module(module)
    assert "memref<2x48x16xf32>" in ir, "B[48, 32] is stored as two 16-wide panels"
    assert "memref<48x32xf32>" not in ir, "the unpacked copy is gone"
    a = rand(64, 48)
    np.testing.assert_allclose(lamina.compile(model)(a)[0], a @ b, rtol=1e-4, atol=1e-4)


def guards_around(op) -> int:
    count, parent = 0, op.parent_op()
    while parent is not None:
        count += parent.name == "loop.if"
        parent = parent.parent_op()
    return count


def test_symbolic_rows_get_full_height_tiles_and_a_guard_free_copy():
    module = scheduled_module(matmul_text("n", 40, 32, epilogue=True))
    assert "unroll = 6" in print_module(module), "a batch of rows is tiled 6 high (6 x 2 accumulators)"
    blocks = {op.attr("label"): op for op in module.walk() if op.name == "loop.block"}
    # Only the version test is around either copy: the full tiles need no guard, and in the
    # partial tile the rows left bound its row loop.
    for label in ("matmul_full", "relu_full", "relu"):
        assert guards_around(blocks[label]) == 1, label
    # The partial tile runs once per row count r (2-5): r unrolled rows inside the reduction,
    # r x 2 accumulators; one row (or none) runs in the original, outside the reduction.
    assert "matmul_rows1" not in blocks
    for r in range(2, 6):
        block = blocks[f"matmul_rows{r}"]
        assert guards_around(block) == 2, r
        loops = enclosing_loops(block)
        labels = [l.attr("label") for l in loops]
        assert labels.index(f"k_rows{r}") < labels.index(f"i_1_rows{r}"), labels
        assert loops[labels.index(f"i_1_rows{r}")].attr("unroll") == r
    loops = [l.attr("label") for l in enclosing_loops(blocks["matmul"])]
    assert guards_around(blocks["matmul"]) == 2
    assert loops.index("i_1") < loops.index("k"), loops


@pytest.mark.parametrize("m, tail", [(128, 2), (64, 4), (62, 2), (61, None), (60, None)])
def test_static_rows_get_one_copy_for_the_count_of_their_last_tile(m, tail):
    """128 rows in tiles of 6 leave a tile of 2: it runs as 2 unrolled rows inside the
    reduction (4 FMA chains), not row by row. One row left, or none, needs no copy."""
    module = scheduled_module(matmul_text(m, 40, 32), threads=1)
    assert "unroll = 6" in print_module(module)
    blocks = {op.attr("label"): op for op in module.walk() if op.name == "loop.block"}
    copies = sorted(label for label in blocks if re.fullmatch(r"matmul_rows\d+", label))
    assert copies == ([f"matmul_rows{tail}"] if tail else []), copies
    # The row-by-row original runs only a last tile of one row: with a static extent it is
    # gone when the last tile has its copy.
    if m % 6:
        assert ("matmul" in blocks) == (m % 6 == 1), sorted(blocks)
    if tail:
        loops = enclosing_loops(blocks[f"matmul_rows{tail}"])
        labels = [l.attr("label") for l in loops]
        assert labels.index(f"k_rows{tail}") < labels.index(f"i_1_rows{tail}"), labels
        assert loops[labels.index(f"i_1_rows{tail}")].attr("unroll") == tail


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("m", [128, 64, 62, 61, 16])
def test_static_rows_with_a_partial_tile_compute_the_product(target, m):
    model = lamina.compile(matmul_text(m, 40, 32, epilogue=True), target=target, threads=1)
    a, b, c = rand(m, 40, seed=m), rand(40, 32, seed=1), rand(32, seed=2)
    np.testing.assert_allclose(model(a, b, c)[0], np.maximum(a @ b + c, 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
def test_symbolic_rows_compute_the_product_for_full_and_partial_tiles(target, threads):
    model = lamina.compile(matmul_text("n", 40, 32, epilogue=True), target=target, threads=threads)
    b, c = rand(40, 32, seed=1), rand(32, seed=2)
    for rows in (1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17):
        a = rand(rows, 40, seed=rows)
        np.testing.assert_allclose(model(a, b, c)[0], np.maximum(a @ b + c, 0), rtol=1e-4, atol=1e-4, err_msg=f"{rows} rows")


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("batch", [1, 5, 13])
def test_symbolic_batch_matmul_tile(target, batch):
    model = lamina.compile(matmul_text(16, 24, 32, batch="n"), target=target, threads=2)
    a, b = rand(batch, 16, 24), rand(24, 32, seed=1)
    np.testing.assert_allclose(model(a, b)[0], a @ b, rtol=1e-4, atol=1e-4)


def conv_text(c, o, hw, k, stride, pad, bias_relu=True):
    out_hw = (hw + 2 * pad - k) // stride + 1
    out = f"tensor<1 x {o} x {out_hw} x {out_hw} x f32>"
    body = [f"  %y = graph.conv2d %x, %w {{strides = [{stride}, {stride}], pads = [{pad}, {pad}, {pad}, {pad}]}} : {out}"]
    result = "%y"
    if bias_relu:
        body += [f"  %z = graph.add %y, %bias : {out}", f"  %r = graph.relu %z : {out}"]
        result = "%r"
    return (
        f"func.func @main(%x: tensor<1 x {c} x {hw} x {hw} x f32>, %w: tensor<{o} x {c} x {k} x {k} x f32>, "
        f"%bias: tensor<{o} x 1 x 1 x f32>) -> {out} {{\n" + "\n".join(body) + f"\n  func.return {result} : {out}\n}}"
    ), out_hw


def conv_reference(x, w, bias, stride, pad):
    n, c, h, _ = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    out = np.zeros((n, o, oh, oh), np.float64)
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, :, ky : ky + stride * oh : stride, kx : kx + stride * oh : stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
    return np.maximum(out + bias.reshape(1, o, 1, 1), 0)


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("c,o,hw,k,stride,pad", [(8, 16, 14, 3, 1, 1), (4, 8, 7, 3, 1, 1), (8, 16, 28, 3, 2, 1), (3, 8, 20, 7, 2, 3), (16, 8, 12, 1, 2, 0)])
def test_convs_tile_widen_and_fuse_and_compute_the_convolution(target, c, o, hw, k, stride, pad):
    text, _ = conv_text(c, o, hw, k, stride, pad)
    x, w, bias = rand(1, c, hw, hw), rand(o, c, k, k, seed=1) * 0.3, rand(o, 1, 1, seed=2)
    got = lamina.compile(text, target=target, threads=2)(x, w, bias)[0]
    np.testing.assert_allclose(got, conv_reference(x, w, bias, stride, pad), rtol=1e-4, atol=1e-4)


def test_tiles_take_12_accumulators_under_one_reduction_loop_or_several():
    """96 rows divide by 6: a matmul (one reduction loop) and a conv (channels x window) both
    get 6 x 2 vectors, kept in a local tile across the reductions (register-accumulators)."""
    assert "unroll = 6" in scheduled_ir(matmul_text(96, 40, 32))
    text, _ = conv_text(8, 96, 16, 3, 1, 1)
    ir = scheduled_ir(text)
    assert "unroll = 6" in ir
    assert 'loop.alloc {scope = "local"} : memref<6x16xf32>' in ir


def conv_with_constant_weights(w, bias, hw, stride, pad) -> str:
    """A conv whose weights and bias are constants, as an exported model's are."""
    o, c, k, _ = w.shape
    out_hw = (hw + 2 * pad - k) // stride + 1
    out = f"tensor<1 x {o} x {out_hw} x {out_hw} x f32>"
    return (
        f"func.func @main(%x: tensor<1 x {c} x {hw} x {hw} x f32>) -> {out} {{\n"
        f"  %w = graph.const dense<{nested_text(w)}> : tensor<{o}x{c}x{k}x{k}xf32>\n"
        f"  %bias = graph.const dense<{nested_text(bias)}> : tensor<{o}x1x1xf32>\n"
        f"  %y = graph.conv2d %x, %w {{strides = [{stride}, {stride}], pads = [{pad}, {pad}, {pad}, {pad}]}} : {out}\n"
        f"  %z = graph.add %y, %bias : {out}\n  %r = graph.relu %z : {out}\n  func.return %r : {out}\n}}"
    )


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("c,o,hw,k,stride,pad", [(8, 32, 28, 3, 1, 1), (5, 48, 30, 3, 1, 1), (16, 32, 56, 1, 2, 0), (3, 64, 56, 3, 1, 1), (8, 32, 7, 3, 1, 1), (16, 32, 14, 3, 2, 1), (4, 64, 14, 3, 1, 1)])
@pytest.mark.parametrize("threads", [1, 2])
def test_channel_vector_convs_compute_the_convolution(target, c, o, hw, k, stride, pad, threads):
    w, bias = rand(o, c, k, k, seed=1) * 0.3, rand(o, 1, 1, seed=2)
    model = lamina.compile(conv_with_constant_weights(w, bias, hw, stride, pad), target=target, threads=threads)
    x = rand(1, c, hw, hw)
    np.testing.assert_allclose(model(x)[0], conv_reference(x, w, bias, stride, pad), rtol=1e-4, atol=1e-4)


def test_conv_with_7x7_outputs_takes_the_whole_image_as_the_rows():
    """Rows of 7 would leave tiles of 4 and 3; the 49 output positions fused make 12 tiles of
    4 and one of 1, and the local tile is indexed through the fused loop's div / rem."""
    ir = scheduled_ir(conv_with_constant_weights(rand(32, 8, 3, 3), rand(32, 1, 1), 7, 1, 1))
    assert 'label = "oy_ox_fused' in ir
    assert 'loop.alloc {scope = "local"} : memref<4x16xf32>' in ir
    assert "memref<1x32x7x8xf32>" not in ir, "no widened rows"


def test_conv_with_rows_of_28_vectorizes_along_output_channels():
    """28-wide rows are no multiple of two vectors: the tile runs its vectors along the 32
    output channels, with the weights packed into panels of 16 and the rows unwidened."""
    ir = scheduled_ir(conv_with_constant_weights(rand(32, 8, 3, 3), rand(32, 1, 1), 28, 1, 1))
    assert "graph.slice" not in ir and "memref<1x32x28x32xf32>" not in ir, "no widened rows"
    assert "memref<2x8x3x3x16xf32>" in ir, "weights in panels Wp[o / 16, c, ky, kx, o % 16]"
    assert 'loop.alloc {scope = "local"} : memref<4x16xf32>' in ir, "4 output positions x 16 channels"
    conv_nest = next(chunk for chunk in ir.split("\n  loop.for")[1:] if 'label = "conv2d"' in chunk)
    assert 'label = "o_0' in conv_nest.split("\n")[0], "the panel loop is outermost (fused with the rows for two threads)"


def test_strided_conv_is_tiled_and_its_epilogue_fused():
    text, _ = conv_text(8, 16, 28, 3, 2, 1)
    ir = scheduled_ir(text)
    assert "unroll = 4" in ir, "output channels are the unrolled rows of the tile (4 rows x 2 vectors)"
    assert 'label = "add"' not in ir, "the bias add merged into the relu"
    conv_nest = next(chunk for chunk in ir.split("\n  loop.for")[1:] if 'label = "conv2d"' in chunk)
    assert 'label = "relu"' in conv_nest, "the epilogue runs inside the conv's nest"


def test_tiled_programs_match_the_graph_interpreter():
    """The same programs through the interpreter (the oracle) and compiled with tiles."""
    text, _ = conv_text(4, 8, 7, 3, 1, 1)
    x, w, bias = rand(1, 4, 7, 7), rand(8, 4, 3, 3, seed=1), rand(8, 1, 1, seed=2)
    want = run_graph(to_graph_module(text), x, w, bias)[0]
    np.testing.assert_allclose(lamina.compile(text)(x, w, bias)[0], want, rtol=1e-4, atol=1e-4)


@pytest.fixture
def small_cache_blocks(monkeypatch):
    """Cache blocks for GEMMs of test size (they start where the panels outgrow the caches)."""
    import lamina.lowering.register_tiling as tiling

    monkeypatch.setattr(tiling, "UNBLOCKED_PANEL_BYTES", 0)
    monkeypatch.setattr(tiling, "BLOCK_K", 256)
    monkeypatch.setattr(tiling, "BLOCK_ROW_TILES", 16)


def test_large_gemm_gets_cache_blocks(small_cache_blocks):
    """K = 512 runs in two slices of 256 outermost; the 17 row tiles of 6 form two blocks."""
    ir = scheduled_ir(matmul_text(100, 512, 32), threads=1)
    first_nest_after_init = ir.split('kind = "reduction", label = "k_0"')
    assert len(first_nest_after_init) == 2, "the reduction's slices are the outermost loop of the tile nest"
    tile_nest = first_nest_after_init[1]
    assert 'label = "i_0_0"' in tile_nest and 'label = "i_0_1' in tile_nest
    assert tile_nest.index('label = "j_0') < tile_nest.index('label = "i_0_1'), "a block's row tiles run inside each panel"


def test_cache_blocked_gemm_packs_its_rows(small_cache_blocks):
    """The row operand is copied into tiles of 6 rows ([tile, k, row]) before the nest, and the
    tile reads the copy."""
    ir = scheduled_ir(matmul_text(100, 512, 32), threads=1)
    packed = re.search(r"(%\d+) = loop.alloc : memref<17x512x6xf32>", ir).group(1)
    copy_nest, tile_nest = ir.split('label = "matmul_read0_global"')[1].split('kind = "reduction", label = "k_0"')
    assert "arith.divui" in copy_nest and "arith.remui" in copy_nest and "loop.store %" in copy_nest
    assert f"loop.load {packed}, " in tile_nest, "the tile loads its rows from the packed copy"
    assert "loop.load %0, " not in tile_nest, "and not from the argument"


def test_few_row_tiles_are_one_block(small_cache_blocks):
    """10 row tiles (fewer than a block holds) stay one block: the panels outside them."""
    ir = scheduled_ir(matmul_text(60, 256, 32), threads=1)
    assert "memref<10x256x6xf32>" in ir
    tile_nest = ir.split('label = "matmul_read0_global"')[1]
    assert 'label = "i_0_1' not in tile_nest
    assert tile_nest.index('label = "j_0') < tile_nest.index('label = "i_0'), "the panels outside the row tiles"


@pytest.mark.parametrize("l2_kib, blocked", [(64, False), (63, True)])
def test_panels_larger_than_l2_get_cache_blocks(monkeypatch, l2_kib, blocked):
    """Unblocked, every row tile streams all the panels: 512 x 32 floats (64 KiB) stay unblocked
    only where they fit in the target's L2."""
    import lamina.targets.host as host_module

    small_l2 = dataclasses.replace(host_module.detected_host(), l2_bytes=l2_kib * 1024)
    monkeypatch.setattr(host_module, "detected_host", lambda: small_l2)
    ir = scheduled_ir(matmul_text(100, 512, 32), threads=1)
    assert ("matmul_read0_global" in ir) == blocked, "a blocked GEMM packs its rows"


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("m", [100, 96, 40])
def test_cache_blocked_gemm_computes_the_product(small_cache_blocks, target, threads, m):
    model = lamina.compile(matmul_text(m, 512, 48, epilogue=True), target=target, threads=threads)
    a, b, c = rand(m, 512), rand(512, 48, seed=1), rand(48, seed=2)
    np.testing.assert_allclose(model(a, b, c)[0], np.maximum(a @ b + c, 0), rtol=1e-4, atol=1e-3)


DEPTHWISE = """func.func @main(%x: tensor<1 x 32 x 20 x 20 x f32>, %w: tensor<32 x 1 x 3 x 3 x f32>) -> tensor<1 x 32 x 20 x 20 x f32> {
  %y = graph.conv2d %x, %w {strides = [1, 1], pads = [1, 1, 1, 1], groups = 32} : tensor<1 x 32 x 20 x 20 x f32>
  func.return %y : tensor<1 x 32 x 20 x 20 x f32>
}"""


def tile_loops(module, label: str) -> dict[str, object]:
    """The loops around the block labelled `label`, by label, outermost first."""
    block = next(op for op in module.walk() if op.name == "loop.block" and op.attr("label") == label)
    return {loop.attr("label"): loop for loop in enclosing_loops(block)}


def test_depthwise_conv_tiles_output_rows_that_share_each_weight():
    """No loop of a depthwise conv reuses an input vector (each input row belongs to one channel
    and one output row). Its tile unrolls output rows, which share each broadcast weight, not
    channels, which broadcast one weight each. The channels stay whole and outermost, the loop
    run across threads, so no two threads read the same input rows. The vectors take the whole
    widened row (20 -> 24 columns, 3 vectors), and 2 rows make 6 accumulators."""
    module = scheduled_module(DEPTHWISE)
    loops = tile_loops(module, "conv2d")
    labels = list(loops)
    assert labels[0] == "o" and loops["o"].attr("kind") == "parallel", labels
    assert loops["oy_1"].attr("unroll") == 2 and labels.index("oy_1") > labels.index("kx"), labels
    assert loops["ox"].attr("vectorize") and loops["ox"].attr("lanes") is None and labels[-1] == "ox", labels
    # each channel's padded copy, compacted to the one channel the iteration of `o` reads
    assert 'loop.alloc {scope = "local"} : memref<1x1x22x26xf32>' in print_module(module), "the input padded by 1 and widened by 4 columns"


def test_depthwise_conv_vectors_stay_8_floats_wide_where_avx512_runs_in_halves(avx512_vectors, host_cpu):
    """Its vectors load off the alignment (each kernel column shifts the row by one float): on
    Zen 4, which runs 512-bit operations in two halves, they stay 8 floats wide, so fewer of those
    loads cross a cache line, and the row is widened to whole vectors of 8 (24), not of 16 (32)."""
    host_cpu("znver4")
    module = scheduled_module(DEPTHWISE)
    loops = tile_loops(module, "conv2d")
    assert loops["ox"].attr("vectorize") and loops["ox"].attr("lanes") == 8
    assert loops["oy_1"].attr("unroll") == 2
    ir = print_module(module)
    assert "memref<1x1x22x26xf32>" in ir and "x22x34xf32>" not in ir
    # The init and the fused epilogue run on the same 8-float vectors as the tile.
    assert ir.count("lanes = 8") >= 2


def test_depthwise_conv_takes_16_floats_where_avx512_runs_full_width(avx512_vectors, host_cpu):
    """On Zen 5 the 512-bit units are whole: the tile takes the widest vectors, the row widened
    to 32 columns (2 vectors), and 8 accumulators make 4 rows."""
    host_cpu("znver5")
    module = scheduled_module(DEPTHWISE)
    loops = tile_loops(module, "conv2d")
    assert loops["ox"].attr("vectorize") and loops["ox"].attr("lanes") is None
    assert loops["oy_1"].attr("unroll") == 4
    ir = print_module(module)
    assert "memref<1x1x22x34xf32>" in ir and "lanes = 8" not in ir


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
def test_depthwise_conv_in_8_float_vectors_computes_the_conv_on_avx512(avx512_vectors, target, threads):
    x, w, bias = rand(1, 32, 20, 20), rand(32, 1, 3, 3, seed=1), rand(32, seed=2)
    text = DEPTHWISE.replace("%w: tensor<32 x 1 x 3 x 3 x f32>", "%w: tensor<32 x 1 x 3 x 3 x f32>, %bias: tensor<32 x f32>")
    text = text.replace("graph.conv2d %x, %w {", "graph.conv2d %x, %w, %bias {")
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = sum(xp[:, :, ky : ky + 20, kx : kx + 20] * w[None, :, 0, ky, kx, None, None] for ky in range(3) for kx in range(3)) + bias[None, :, None, None]
    np.testing.assert_allclose(lamina.compile(text, target=target, threads=threads)(x, w, bias)[0], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("threads", [1, 2])
def test_depthwise_conv_split_by_channels_computes_the_conv(target, threads):
    """Also through the input's split pad (border nest, vectorized interior copy)."""
    x, w = rand(1, 32, 20, 20), rand(32, 1, 3, 3, seed=1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = sum(xp[:, :, ky : ky + 20, kx : kx + 20] * w[None, :, 0, ky, kx, None, None] for ky in range(3) for kx in range(3))
    np.testing.assert_allclose(lamina.compile(DEPTHWISE, target=target, threads=threads)(x, w)[0], want, rtol=1e-4, atol=1e-4)


def test_matmul_rows_stay_inside_the_spatial_loops():
    """B does not depend on the rows of a matmul: the row tiles stay inside the batch loop
    (the two fused for the threads, batch first)."""
    module = scheduled_module(matmul_text(64, 32, 48, batch="4"), threads=2)
    block = next(op for op in module.walk() if op.name == "loop.block" and op.attr("label") == "matmul")
    labels = [l.attr("label") for l in enclosing_loops(block)]
    assert labels[0] == "i0_i_0_fused", labels


@pytest.mark.parametrize("n", [10, 12, 15])
def test_rows_shorter_than_the_widest_vector_take_narrower_ones_on_avx512(avx512_vectors, n):
    """A classifier's 10 outputs are fewer than one 16-float vector: the tile takes vectors of 8
    (one, and a tail) rather than none, which left the plain schedule gathering B's columns."""
    module = scheduled_module(matmul_text(64, 256, n), threads=1)
    # 16 accumulators with AVX-512's 32 registers: 8 rows of 2 vectors, 8 tiles with no partial one
    loops = tile_loops(module, "matmul")
    assert loops["j"].attr("vectorize") and loops["j"].attr("lanes") == 8, list(loops)
    assert loops["i_1"].attr("unroll") == 8
    # The accumulators' copies in and out of the tile take the same vectors.
    ir = print_module(module)
    assert ir.count('lanes = 8') == ir.count('vectorize = true')


def test_rows_of_8_floats_or_more_keep_the_widest_vectors_at_256_bits():
    """At 8-float vectors the same matmul already fills them: no narrowing, no lanes recorded."""
    module = scheduled_module(matmul_text(64, 256, 10), threads=1)
    loops = tile_loops(module, "matmul_full")
    assert loops["j_full"].attr("vectorize") and loops["j_full"].attr("lanes") is None
    assert "lanes = " not in print_module(module)


@pytest.mark.parametrize("target", ["llvm", "c"])
@pytest.mark.parametrize("n", [10, 12])
def test_narrow_vector_tile_computes_the_product_on_avx512(avx512_vectors, target, n):
    model = lamina.compile(matmul_text("n", 256, n, epilogue=True), target=target, threads=2)
    a, b, c = rand(37, 256), rand(256, n, seed=1), rand(n, seed=2)
    np.testing.assert_allclose(model(a, b, c)[0], np.maximum(a @ b + c, 0), rtol=1e-4, atol=1e-3)
