"""The static memory plan never overlaps two buffers that are alive at the same time, and
reuses space when lifetimes are disjoint."""

import numpy as np
from hypothesis import given, strategies as st

import lamina
from lamina.ir.dims import SymDim, dim_mul
from lamina.runtime.memory_plan import ALIGNMENT, BufferLife, plan_memory


@st.composite
def lifetimes(draw):
    n = draw(st.integers(1, 12))
    out = []
    for i in range(n):
        first = draw(st.integers(0, 10))
        out.append(BufferLife(f"b{i}", draw(st.integers(1, 5000)), first, first + draw(st.integers(0, 5))))
    return out


def overlaps(a, b):
    return not (a.last_use < b.first_use or b.last_use < a.first_use)


@given(lifetimes())
def test_live_buffers_never_share_bytes(buffers):
    plan = plan_memory(buffers)
    for i, a in enumerate(buffers):
        ao = plan.offset_of(a.name)
        assert ao % ALIGNMENT == 0
        assert ao + a.size <= plan.peak_bytes()
        for b in buffers[i + 1 :]:
            if overlaps(a, b):
                bo = plan.offset_of(b.name)
                assert ao + a.size <= bo or bo + b.size <= ao


def test_disjoint_lifetimes_share_space():
    plan = plan_memory([BufferLife("a", 4096, 0, 1), BufferLife("b", 4096, 2, 3), BufferLife("c", 1024, 3, 4)])
    assert plan.peak_bytes() == 4096 + 1024
    assert plan.offset_of("a") == plan.offset_of("b")
    assert plan.unplanned_total == 4096 * 2 + 1024


def test_symbolic_sizes_reuse_equal_slots_and_evaluate_per_call():
    n = SymDim.symbol("n")
    four_n = dim_mul(n, 16)
    plan = plan_memory(
        [BufferLife("x", four_n, 0, 1), BufferLife("y", four_n, 2, 3), BufferLife("z", four_n, 3, 4), BufferLife("s", 100, 0, 4)]
    )
    assert plan.offsets["x"] == plan.offsets["y"]
    assert plan.offsets["z"] != plan.offsets["y"]
    for value in (1, 7):
        env = {"n": value}
        zo, yo = plan.offset_of("z", env), plan.offset_of("y", env)
        assert zo >= yo + 16 * value or yo >= zo + 16 * value
        assert plan.peak_bytes(env) >= 2 * 16 * value + 100


CHAIN = """
func.func @main(%x: tensor<64 x 64 x f32>, %w: tensor<64 x 64 x f32>) -> tensor<64 x 64 x f32> {
  %h1 = graph.matmul %x, %w : tensor<64 x 64 x f32>
  %h2 = graph.matmul %h1, %w : tensor<64 x 64 x f32>
  %h3 = graph.matmul %h2, %w : tensor<64 x 64 x f32>
  %y = graph.matmul %h3, %w : tensor<64 x 64 x f32>
  func.return %y : tensor<64 x 64 x f32>
}
"""


def test_compiled_chain_reuses_dead_intermediates():
    """Through the whole pipeline (which hoists every alloc to the top of the function), h1 is
    dead once h2 is computed, so h3 takes its bytes: two 16 KiB buffers, not three."""
    model = lamina.compile(CHAIN)
    assert model.peak_workspace_bytes() == 2 * 64 * 64 * 4
    x, w = (np.random.default_rng(s).standard_normal((64, 64)).astype(np.float32) * 0.2 for s in (0, 1))
    np.testing.assert_allclose(model(x, w)[0], x @ w @ w @ w @ w, rtol=1e-4, atol=1e-5)
