"""Parallel loops hand out chunks of consecutive iterations (about four per thread, at least
one): every iteration must run exactly once whatever the trip count is against the chunk —
fewer iterations than threads, a last partial chunk, a trip count known only at run time — and
with more threads than cores."""

import numpy as np
import pytest

import lamina

SOURCE = """
func.func @f(%x: tensor<n x 64 x f32>) -> tensor<n x 64 x f32> {
  %y = graph.tanh %x : tensor<n x 64 x f32>
  %z = graph.add %y, %x : tensor<n x 64 x f32>
  func.return %z : tensor<n x 64 x f32>
}
"""


@pytest.mark.parametrize("threads", [2, 3])
def test_every_iteration_runs_once(threads):
    model = lamina.compile(SOURCE, threads=threads)
    assert "GOMP_parallel" in model.ir_text  # the rows do run across threads
    rng = np.random.default_rng(threads)
    for rows in (1, 2, 3, 7, 13, 37, 300):
        x = rng.standard_normal((rows, 64)).astype(np.float32)
        np.testing.assert_allclose(model(x)[0], np.tanh(x) + x, rtol=2e-6, atol=2e-6)
