"""compact-buffers: a buffer used within one iteration of a loop becomes that iteration's slice,
a local buffer in the loop, and only when no iteration can read another's data. Random
producer/consumer pairs are interpreted before and after the pass (a fresh buffer holds NaN, so
a read that a compacted buffer could no longer serve shows); a depthwise conv loses both of
its whole-tensor buffers and still matches onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.compiler import run_passes
from lamina.interpreter.loop import run_function
from lamina.parser import parse_module
from lamina.passes.loop.compact_buffers import MAX_LOCAL_BYTES


def slices_module(trips: int, stride: int, written: int, read: int, shift: int, kind: str):
    """for o < trips: t[stride*o + i] = src[o, i] (i < written), then out[o, j] = t[stride*o + j + shift]
    (j < read); t is offset so every index is in bounds."""
    low = min(0, (trips - 1) * stride) + min(0, shift)
    high = max(0, (trips - 1) * stride) + max(written - 1, shift + read - 1)
    size = high - low + 1
    return parse_module(
        f"""
func.func @f(%src: memref<{trips}x{written}xf32>, %out: memref<{trips}x{read}xf32>) attributes {{lamina.outputs = 1 : i64}} {{
  %t = loop.alloc : memref<{size}xf32>
  %lo = arith.constant 0 : index
  %n = arith.constant {trips} : index
  %w = arith.constant {written} : index
  %r = arith.constant {read} : index
  loop.for %lo, %n {{kind = "{kind}", label = "o"}} (%o: index) {{
    loop.for %lo, %w {{label = "i"}} (%i: index) {{
      loop.block %o, %i {{label = "produce", iter_kinds = "SS", domain = [{trips}, {written}]}} (%a0: index, %a1: index) {{
        loop.yield
      }} (%p: index, %q: index) {{
        %v = loop.load %src, %p, %q : f32
        %s = arith.constant {stride} : index
        %ps = arith.muli %p, %s : index
        %base = arith.constant {-low} : index
        %at0 = arith.addi %ps, %q : index
        %at = arith.addi %at0, %base : index
        loop.store %v, %t, %at
        loop.yield
      }}
      loop.yield
    }}
    loop.for %lo, %r {{label = "j"}} (%j: index) {{
      loop.block %o, %j {{label = "consume", iter_kinds = "SS", domain = [{trips}, {read}]}} (%b0: index, %b1: index) {{
        loop.yield
      }} (%p: index, %q: index) {{
        %s = arith.constant {stride} : index
        %ps = arith.muli %p, %s : index
        %shift = arith.constant {shift - low} : index
        %at0 = arith.addi %ps, %q : index
        %at = arith.addi %at0, %shift : index
        %v = loop.load %t, %at : f32
        loop.store %v, %out, %p, %q
        loop.yield
      }}
      loop.yield
    }}
    loop.yield
  }}
  func.return
}}
""",
        "<slices>",
    )


def local_buffers(module) -> list:
    return [op.results[0].type for op in module.walk() if op.name == "loop.alloc" and op.attr("scope") == "local"]


def check_compaction_keeps_values(trips, stride, written, read, shift, kind) -> bool:
    """Interpret before and after the pass; returns whether the buffer was compacted."""
    module = slices_module(trips, stride, written, read, shift, kind)
    src = np.arange(trips * written, dtype=np.float32).reshape(trips, written) + 1
    before = run_function(module, src)[0]
    run_passes(module, ["compact-buffers"])
    np.testing.assert_array_equal(run_function(module, src)[0], before)
    return bool(local_buffers(module))


@settings(max_examples=120, deadline=None)
@given(
    trips=st.integers(1, 5),
    stride=st.integers(-9, 9),
    written=st.integers(1, 6),
    read=st.integers(1, 6),
    shift=st.integers(-8, 8),
    kind=st.sampled_from(["serial", "parallel"]),
)
def test_compacted_slices_compute_what_the_whole_buffer_did(trips, stride, written, read, shift, kind):
    compacted = check_compaction_keeps_values(trips, stride, written, read, shift, kind)
    extent = max(written, shift + read) - min(0, shift)
    # one iteration's slice is the whole buffer: nothing to gain
    own_slice = trips > 1 and abs(stride) >= extent
    assert compacted == own_slice


@pytest.mark.parametrize(
    "stride, written, read, shift, compacts",
    [
        (4, 4, 4, 0, True),  # each iteration reads exactly what it wrote
        (4, 4, 2, 2, True),
        (4, 4, 2, 3, False),  # the read reaches the next iteration's slice
        (4, 4, 4, -1, False),  # ... or the previous one's
        (3, 4, 4, 0, False),  # slices overlap
        (-4, 4, 4, 0, True),  # a loop running the buffer backwards
    ],
)
def test_slices_at_the_edge_of_disjointness(stride, written, read, shift, compacts):
    assert check_compaction_keeps_values(3, stride, written, read, shift, "serial") == compacts


def fused_rows_module(rows: int, cols: int, width: int, read_next: bool, recompute_row: bool = False):
    """A fused loop over (row, col) of t[rows, cols, width]: f < rows*cols writes t[f / cols,
    f % cols, :] and reads that row back, or the next column's, t[f / cols, (f % cols + 1) % cols, :];
    the read may compute its own f / cols."""
    return parse_module(
        f"""
func.func @f(%src: memref<{rows * cols}x{width}xf32>, %out: memref<{rows * cols}x{width}xf32>) attributes {{lamina.outputs = 1 : i64}} {{
  %t = loop.alloc : memref<{rows}x{cols}x{width}xf32>
  %lo = arith.constant 0 : index
  %n = arith.constant {rows * cols} : index
  %w = arith.constant {width} : index
  loop.for %lo, %n {{kind = "parallel", label = "rc_fused"}} (%f: index) {{
    %c = arith.constant {cols} : index
    %row = arith.floordivsi %f, %c : index
    %col = arith.remsi %f, %c : index
    %one = arith.constant 1 : index
    %col1 = arith.addi %col, %one : index
    %col2 = arith.remsi %col1, %c : index
    %row2 = arith.floordivsi %f, %c : index
    loop.for %lo, %w {{label = "i"}} (%i: index) {{
      %v = loop.load %src, %f, %i : f32
      loop.store %v, %t, %row, %col, %i
      loop.yield
    }}
    loop.for %lo, %w {{label = "j"}} (%j: index) {{
      %v = loop.load %t, {"%row2" if recompute_row else "%row"}, {"%col2" if read_next else "%col"}, %j : f32
      loop.store %v, %out, %f, %j
      loop.yield
    }}
    loop.yield
  }}
  func.return
}}
""",
        "<fused-rows>",
    )


@pytest.mark.parametrize("read_next, recompute_row", [(False, False), (False, True), (True, False), (True, True)])
def test_a_fused_loop_compacts_by_its_quotient_and_remainder(read_next, recompute_row):
    """No stride rule sees that (f / 4, f % 4) never repeats; the offsets evaluated at every
    iteration do, and they see that a quotient computed twice is the same offset. Reading the
    next column's row is another iteration's data: it stays."""
    module = fused_rows_module(3, 4, 5, read_next, recompute_row)
    src = np.arange(12 * 5, dtype=np.float32).reshape(12, 5)
    before = run_function(module, src)[0]
    run_passes(module, ["compact-buffers"])
    np.testing.assert_array_equal(run_function(module, src)[0], before)
    assert [t.shape for t in local_buffers(module)] == ([] if read_next else [(1, 1, 5)])


def test_a_compacted_slice_drops_the_offset_and_moves_into_the_loop():
    module = slices_module(3, 8, 8, 6, 1, "parallel")
    run_passes(module, ["compact-buffers"])
    (loop,) = [op for op in module.walk() if op.name == "loop.for" and op.attr("label") == "o"]
    first = next(iter(loop.regions[0].block.ops))
    assert first.name == "loop.alloc" and first.attr("scope") == "local"
    assert first.results[0].type.shape == (8,)
    assert not [op for op in module.walk() if op.name == "loop.alloc" and op.attr("scope") != "local"]


def test_a_slice_over_the_stack_budget_stays_in_the_workspace():
    floats = MAX_LOCAL_BYTES // 4
    module = slices_module(2, floats + 1, floats + 1, 1, 0, "serial")
    run_passes(module, ["compact-buffers"])
    assert not local_buffers(module)


def test_the_depthwise_conv_keeps_no_whole_tensor_buffer():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    import lamina

    rng = np.random.default_rng(0)
    c, hw = 16, 20
    w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], group=c)
    graph = helper.make_graph(
        [node],
        "dw",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = rng.standard_normal((1, c, hw, hw)).astype(np.float32)
    (want,) = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for threads in (1, 2):
        compiled = lamina.compile(model, threads=threads)
        # the padded channels and the conv's output tiles were each a whole 1 x c x h x w buffer
        assert compiled.peak_workspace_bytes() == 0
        np.testing.assert_allclose(compiled(x)[0], want, rtol=1e-5, atol=1e-5)


SHARED_SLICE = """
func.func @f(%src: memref<4x2xf32>, %out: memref<4x2xf32>) attributes {lamina.outputs = 1 : i64} {
  %t = loop.alloc : memref<2x2xf32>
  %lo = arith.constant 0 : index
  %n = arith.constant 4 : index
  %two = arith.constant 2 : index
  loop.for %lo, %n {label = "f"} (%f: index) {
    %pair = arith.floordivsi %f, %two : index
    %odd = arith.remsi %f, %two : index
    %count = arith.subi %two, %odd : index
    loop.for %lo, %count {label = "i"} (%i: index) {
      %v = loop.load %src, %f, %i : f32
      loop.store %v, %t, %pair, %i
      loop.yield
    }
    loop.for %lo, %two {label = "j"} (%j: index) {
      %v = loop.load %t, %pair, %j : f32
      loop.store %v, %out, %f, %j
      loop.yield
    }
    loop.yield
  }
  func.return
}
"""


def test_iterations_sharing_a_slice_keep_the_buffer():
    """Iterations 2k and 2k+1 share row k of t, and the odd one reads the element only the even
    one wrote: the offsets repeat over the iterations, so nothing is compacted."""
    module = parse_module(SHARED_SLICE, "<shared-slice>")
    src = np.arange(8, dtype=np.float32).reshape(4, 2) + 1
    before = run_function(module, src)[0]
    assert before[1, 1] == src[0, 1]
    run_passes(module, ["compact-buffers"])
    np.testing.assert_array_equal(run_function(module, src)[0], before)
    assert not local_buffers(module)


def test_no_buffer_moves_into_a_vectorized_loop():
    """An allocation in a vectorized loop's body would keep the loop scalar."""
    module = parse_module(
        """
func.func @f(%x: memref<16xf32>, %y: memref<16xf32>) attributes {lamina.outputs = 1 : i64} {
  %t = loop.alloc : memref<16xf32>
  %lo = arith.constant 0 : index
  %n = arith.constant 16 : index
  loop.for %lo, %n {label = "i", vectorize = true} (%i: index) {
    %v = loop.load %x, %i : f32
    loop.store %v, %t, %i
    %w = loop.load %t, %i : f32
    loop.store %w, %y, %i
    loop.yield
  }
  func.return
}
""",
        "<vectorized>",
    )
    run_passes(module, ["compact-buffers"])
    assert not local_buffers(module)
