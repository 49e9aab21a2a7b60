"""Comparing the results of two runs of one program (interpreter, compiled, before/after a pass)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def assert_results_match(got: Sequence, want: Sequence, rtol: float = 2e-4, atol: float = 2e-5) -> None:
    """Same count, shapes and dtypes; floats equal within tolerance (NaN where NaN), anything
    else exactly."""
    assert len(got) == len(want), f"{len(got)} results, expected {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, f"result {k}: {g.dtype}{list(g.shape)}, expected {w.dtype}{list(w.shape)}"
        if np.issubdtype(w.dtype, np.floating):
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, w)


__all__ = ["assert_results_match"]
