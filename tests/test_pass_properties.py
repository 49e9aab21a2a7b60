"""Every graph pass, and the default pipeline, keeps random programs valid and computing the
same results under the reference interpreter."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from lamina.dialects.registry import make_context
from lamina.interpreter.graph import run_function
from lamina.ir.verify import verify_op_tree
from lamina.passes.registry import available_passes
from lamina.testing import graph_functions, inputs_for
from lamina.tools.opt import parse_pipeline_spec

PIPELINES = ["canonicalize", "fold-constants", "cse", "dce", "shape-infer", "explicit-padding", "canonicalize,cse,fold-constants,dce"]


def assert_same_results(before, after):
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert a.shape == b.shape and a.dtype == b.dtype
        if np.issubdtype(b.dtype, np.floating):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_pipeline_keeps_validity_and_results(pipeline):
    passes = parse_pipeline_spec(pipeline)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(graph_functions(max_ops=6))
    def check(module):
        inputs = inputs_for(module, seed=1)
        before = run_function(module, *inputs)
        for p in passes:
            p.apply(make_context(), module)
            verify_op_tree(module, f"after {p.name}")
        assert_same_results(before, run_function(module, *inputs))

    check()


def test_registry_lists_the_graph_passes():
    names = set(available_passes())
    assert {"canonicalize", "fold-constants", "cse", "dce", "shape-infer"} <= names
