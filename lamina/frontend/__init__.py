"""Model importers: each turns a model format into a graph-dialect module."""
