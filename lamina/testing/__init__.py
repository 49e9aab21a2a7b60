"""Public testing helpers for pass authors: hypothesis strategies and FileCheck helpers."""

from lamina.testing.strategies import graph_functions, inputs_for, tensor_shapes

__all__ = ["graph_functions", "inputs_for", "tensor_shapes"]
