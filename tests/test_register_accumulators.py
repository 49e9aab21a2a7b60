"""register-accumulators on matmul schedules that put the reduction loop at every depth among
split spatial loops: the pass promotes exactly when the tile inside the reduction is static and
indexes the output one-to-one, and the loop interpreter computes the same either way."""

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context

from lamina.interpreter.loop import compile_function
from lamina.ir.printer import print_module
from lamina.ir.verify import verify_op_tree
from lamina.lowering.graph_to_loop import lower_module
from lamina.parser import parse_module
from lamina.passes.loop.register_accumulators import RegisterAccumulators
from lamina.schedule import Schedule

MATMUL = """
func.func @main(%a: tensor<{m} x {k} x f32>, %b: tensor<{k} x {n} x f32>) -> tensor<{m} x {n} x f32> {{
  %y = graph.matmul %a, %b : tensor<{m} x {n} x f32>
  func.return %y : tensor<{m} x {n} x f32>
}}
"""


def scheduled(m, k, n, mr, nr, depth, init_outermost=False):
    """i and j split by mr and nr; k placed after `depth` of (io, jo, ii, ji); the init split
    off right before k (or before the outermost loop)."""
    loops = parse_module(MATMUL.format(m=m, k=k, n=n))
    lower_module(loops)
    sch = Schedule(loops)
    block = sch.get_block("matmul")
    i, j, kk = sch.get_loops(block)
    io, ii = sch.split(i, [None, mr])
    jo, ji = sch.split(j, [None, nr])
    order = [io, jo, ii, ji]
    order.insert(depth, kk)
    sch.reorder(*order)
    sch.decompose_reduction(block, order[0] if init_outermost else kk)
    return sch.module


def promoted(module):
    out = module.clone()
    RegisterAccumulators().apply(Context(), out)
    verify_op_tree(out)
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 5), st.integers(1, 9), st.integers(1, 4), st.integers(1, 4), st.integers(0, 4), st.booleans())
def test_promotion_preserves_results(m, k, n, mr, nr, depth, init_outermost):
    module = scheduled(m, k, n, mr, nr, depth, init_outermost)
    rng = np.random.default_rng(m * 100 + n)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    want = compile_function(module).run([a, b])[0]
    got = compile_function(promoted(module)).run([a, b])[0]
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_a_static_tile_inside_the_reduction_gets_a_local_buffer():
    # 12 x 16 in tiles of 4 x 8: k outside ii, ji (depth 2) leaves a static 4 x 8 tile inside;
    # the init, split off outside all loops, wrote the whole output, so the tile is copied in.
    text = print_module(promoted(scheduled(12, 5, 16, 4, 8, 2, init_outermost=True)))
    assert 'loop.alloc {scope = "local"} : memref<4x8xf32>' in text
    assert 'label = "matmul_acc_in"' in text and 'label = "matmul_acc_out"' in text


def test_the_init_of_the_tile_right_before_the_reduction_writes_the_local_buffer():
    text = print_module(promoted(scheduled(12, 5, 16, 4, 8, 2)))
    tile = re.search(r"(%\d+) = loop.alloc \{scope = \"local\"\} : memref<4x8xf32>", text).group(1)
    init = text[text.index('label = "matmul_init"') :]
    assert re.search(rf"loop.store %\d+, {tile}, ", init.split("loop.yield")[1]), "the init stores into the tile"
    assert "matmul_acc_in" not in text and 'label = "matmul_acc_out"' in text


def test_split_loops_of_one_iterator_inside_the_reduction_are_left_alone():
    # k outermost (depth 0): io and ii both index row i = 4 io + ii; the pass does not prove such
    # pairs one-to-one, and a tile of the whole 12 x 16 output would not fit in registers anyway.
    assert "scope" not in print_module(promoted(scheduled(12, 5, 16, 4, 8, 0)))


def test_partial_tiles_from_non_dividing_splits_are_left_alone():
    # 10 rows by 4: the split guards the last tile with a loop.if inside the tile loops.
    assert "scope" not in print_module(promoted(scheduled(10, 5, 16, 4, 8, 2)))


def local_tiles(module) -> list[str]:
    return re.findall(r'loop.alloc \{scope = "local"\} : memref<(\w+)xf32>', print_module(promoted(module)))


def test_a_tile_of_the_vector_registers_is_promoted_and_a_larger_one_is_not(avx2_vectors):
    # AVX2: 16 registers of 8 floats. 6 x 16 (12 vectors) fits; 8 x 24 (24 vectors) would spill.
    assert local_tiles(scheduled(12, 5, 32, 6, 16, 2)) == ["6x16"]
    assert local_tiles(scheduled(16, 5, 48, 8, 24, 2)) == []


def test_avx512_tiles_take_the_32_wider_registers(avx512_vectors):
    # 32 registers of 16 floats: the 6 x 32 tile a GEMM gets here (768 bytes, more than AVX2's
    # whole register file) and 8 x 48 (24 vectors) are promoted; 12 x 48 (36 vectors) is not.
    assert local_tiles(scheduled(12, 5, 64, 6, 32, 2)) == ["6x32"]
    assert local_tiles(scheduled(16, 5, 96, 8, 48, 2)) == ["8x48"]
    assert local_tiles(scheduled(24, 5, 96, 12, 48, 2)) == []
