"""The lean call path of CompiledModel: inputs whose shapes were seen before skip the checks
and reuse data pointers, and none of that may change what a call computes or which error a
wrong input gets: fresh outputs per call, changed contents of a reused array, arrays freed and
replaced, views, read-only and empty arrays, in-place shape/dtype changes, many distinct
shapes, and concurrent calls from several threads."""

import threading

import numpy as np
import pytest

import lamina
from lamina.ir.diagnostics import LaminaError
from lamina.runtime import compiled_model

SYMBOLIC = """
func.func @model(%x: tensor<n x 8 x f32>, %b: tensor<8xf32>) -> tensor<n x 8 x f32> {
  %w = graph.const dense<0.5> : tensor<8x8xf32>
  %h = graph.matmul %x, %w
  %y = graph.add %h, %b
  %r = graph.relu %y
  func.return %r : tensor<n x 8 x f32>
}
"""

STATIC = """
func.func @model(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %s = graph.add %a, %b
  %p = graph.mul %a, %b
  func.return %s, %p : tensor<2x3xf32>, tensor<2x3xf32>
}
"""

TWO_SYMBOLS = """
func.func @model(%x: tensor<n x 4 x f32>, %y: tensor<n x 4 x f32>) -> tensor<n x 4 x f32> {
  %s = graph.add %x, %y
  func.return %s : tensor<n x 4 x f32>
}
"""


@pytest.fixture(scope="module")
def symbolic():
    return lamina.compile(SYMBOLIC, threads=1)


@pytest.fixture(scope="module")
def static():
    return lamina.compile(STATIC, threads=1)


def expected(x, b):
    return np.maximum(x @ np.full((8, 8), 0.5, np.float32) + b, 0)


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_outputs_are_fresh_arrays_each_call(static):
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    first = static(a, b)
    second = static(a, b)
    for old, new in zip(first, second):
        assert old is not new and not np.shares_memory(old, new)
    np.testing.assert_array_equal(first[0], a + b)
    np.testing.assert_array_equal(first[1], a * b)
    first[0][:] = 0  # writing to a returned array must not disturb the next call
    np.testing.assert_array_equal(static(a, b)[0], a + b)


def test_a_reused_input_array_is_read_afresh(static, symbolic):
    a, b = np.ones((2, 3), np.float32), np.ones((2, 3), np.float32)
    for k in range(4):
        a[:] = k
        np.testing.assert_array_equal(static(a, b)[0], a + b)
    rng = np.random.default_rng(0)
    x, bias = rand(rng, 3, 8), rand(rng, 8)
    for _ in range(3):
        x[:] = rand(rng, 3, 8)
        np.testing.assert_allclose(symbolic(x, bias)[0], expected(x, bias), rtol=1e-5, atol=1e-6)


def test_freed_and_replaced_inputs_are_not_mistaken_for_old_ones(static):
    # New arrays of the same shape, often at the address (and id) of the one just freed.
    for k in range(50):
        a = np.full((2, 3), float(k), np.float32)
        b = np.full((2, 3), 1.0, np.float32)
        np.testing.assert_array_equal(static(a, b)[0], np.full((2, 3), k + 1.0, np.float32))
        del a, b


def test_wrong_inputs_after_fast_calls_get_the_same_errors(symbolic):
    rng = np.random.default_rng(1)
    x, b = rand(rng, 4, 8), rand(rng, 8)
    symbolic(x, b)
    symbolic(x, b)  # now the shapes are known and the arrays' addresses remembered
    with pytest.raises(LaminaError, match="input #0 'x' must have dtype float32, got float64"):
        symbolic(x.astype(np.float64), b)
    with pytest.raises(LaminaError, match="input #1 'b' axis 0 must be 8"):
        symbolic(x, rand(rng, 7))
    with pytest.raises(LaminaError, match="input #0 'x' must have rank 2"):
        symbolic(rand(rng, 8), b)
    with pytest.raises(LaminaError, match="input #0 'x': expected a numpy array"):
        symbolic([[1.0] * 8], b)
    with pytest.raises(LaminaError, match="takes 2 inputs"):
        symbolic(x)
    with pytest.raises(LaminaError, match="unknown input 'y'"):
        symbolic({"x": x, "y": b})
    # In-place changes to a remembered array: its shape, then its dtype.
    x.shape = (8, 4)
    with pytest.raises(LaminaError, match="input #0 'x' axis 1 must be 8"):
        symbolic(x, b)
    x.shape = (4, 8)
    np.testing.assert_allclose(symbolic(x, b)[0], expected(x, b), rtol=1e-5, atol=1e-6)
    x.dtype = np.int32
    with pytest.raises(LaminaError, match="input #0 'x' must have dtype float32, got int32"):
        symbolic(x, b)


def test_inconsistent_symbols_are_refused_after_each_shape_was_seen():
    m = lamina.compile(TWO_SYMBOLS, threads=1)
    two, three = np.ones((2, 4), np.float32), np.ones((3, 4), np.float32)
    m(two, two)
    m(three, three)
    with pytest.raises(LaminaError, match="input #1 'y' axis 0: 'n' is 2 from another input but 3 here"):
        m(two, three)


def test_views_read_only_and_empty_inputs(symbolic):
    rng = np.random.default_rng(2)
    wide, b = rand(rng, 5, 16), rand(rng, 8)
    symbolic(wide[:, :8].copy(), b)  # the shape (5, 8) is now known to the fast path
    view = wide[:, ::2]  # same shape and dtype, not contiguous: must be copied, not read raw
    np.testing.assert_allclose(symbolic(view, b)[0], expected(view, b), rtol=1e-5, atol=1e-6)
    offset = rand(rng, 6, 8)[1:]  # contiguous but starting one row in
    np.testing.assert_allclose(symbolic(offset, b)[0], expected(offset, b), rtol=1e-5, atol=1e-6)
    frozen = rand(rng, 5, 8)
    frozen.flags.writeable = False
    np.testing.assert_allclose(symbolic(frozen, b)[0], expected(frozen, b), rtol=1e-5, atol=1e-6)
    (empty,) = symbolic(np.zeros((0, 8), np.float32), b)
    assert empty.shape == (0, 8)


def test_named_inputs_take_the_same_path(symbolic):
    rng = np.random.default_rng(3)
    x, b = rand(rng, 2, 8), rand(rng, 8)
    want = expected(x, b)
    for _ in range(2):
        np.testing.assert_allclose(symbolic({"b": b, "x": x})[0], want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(symbolic(x=x, b=b)[0], want, rtol=1e-5, atol=1e-6)


def test_more_distinct_shapes_than_remembered(symbolic):
    rng = np.random.default_rng(4)
    b = rand(rng, 8)
    for n in range(1, 2 * compiled_model.MAX_BINDINGS + 3):
        x = rand(rng, n, 8)
        np.testing.assert_allclose(symbolic(x, b)[0], expected(x, b), rtol=1e-5, atol=1e-6)
    assert len(symbolic._bindings) <= compiled_model.MAX_BINDINGS


def test_concurrent_calls_from_threads_do_not_share_buffers():
    # Large enough that native runs overlap: ctypes lets go of the GIL while they run.
    m = lamina.compile(SYMBOLIC, threads=1)
    rng = np.random.default_rng(5)
    b = rand(rng, 8)
    inputs = [rand(rng, 4096, 8) for _ in range(4)]
    wants = [expected(x, b) for x in inputs]
    failures = []

    def worker(k):
        for _ in range(30):
            got = m(inputs[k], b)[0]
            if not np.allclose(got, wants[k], rtol=1e-5, atol=1e-6):
                failures.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_data_address_agrees_with_numpy():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    for arr in (a, a[1:], a.reshape(12)[3:], np.zeros(0, np.float32)):
        assert compiled_model.data_address(arr) == arr.ctypes.data
    frozen = a.copy()
    frozen.flags.writeable = False
    assert compiled_model.data_address(frozen) == frozen.ctypes.data
