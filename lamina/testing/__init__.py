"""Public testing helpers for pass authors: hypothesis strategies and result comparison."""

from lamina.testing.results import assert_results_match
from lamina.testing.strategies import graph_functions, inputs_for, tensor_shapes

__all__ = ["assert_results_match", "graph_functions", "inputs_for", "tensor_shapes"]
