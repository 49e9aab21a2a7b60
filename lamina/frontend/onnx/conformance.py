"""Runs ONNX's backend node test cases through lamina with the official comparison.

onnx >= 1.23 builds the cases in memory (`load_model_tests(kind="node")`); each is imported with
`from_onnx`, run by the reference interpreter or compiled, and compared with
`Runner.assert_similar_outputs` at the case's own rtol/atol.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass

import numpy as np

from lamina.frontend.onnx.context import Unsupported, numpy_dtype_of
from lamina.ir.diagnostics import LaminaError

PASS, FAIL, UNSUPPORTED = "pass", "fail", "unsupported"


@functools.cache
def node_cases() -> list:
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return load_model_tests(kind="node")


def snake(op_type: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op_type).lower()


@functools.cache
def all_op_types() -> list[str]:
    from onnx import defs

    return sorted({s.name for s in defs.get_all_schemas_with_history() if s.domain in ("", "ai.onnx")})


def primary_op(case) -> str:
    """The op a case is named after (test_reduce_sum_keepdims → ReduceSum)."""
    rest = case.name[len("test_") :]
    best = None
    for op in all_op_types():
        s = snake(op)
        if (rest == s or rest.startswith(s + "_")) and (best is None or len(s) > len(snake(best))):
            best = op
    if best is None:
        types = [n.op_type for n in case.model.graph.node]
        best = types[0] if types else "?"
    return best


@dataclass
class Outcome:
    status: str
    detail: str = ""


def run_case(case, compiled: bool = False) -> Outcome:
    from onnx.backend.test.runner import Runner

    from lamina.frontend.onnx import from_onnx
    from lamina.interpreter.graph import run_function

    try:
        module = from_onnx(case.model)
    except LaminaError as e:
        lines = [line.strip() for line in e.message.splitlines()]
        if lines[0].startswith("the model uses") and "op type" in lines[0]:
            return Outcome(UNSUPPORTED, "no converter: " + "; ".join(lines[1:]))
        return Outcome(UNSUPPORTED, lines[-1])
    ranks = [a.type.rank for a in next(iter(module.ops)).body.block.args]
    model = None
    if compiled:
        import lamina

        try:
            model = lamina.compile(module, threads=1)
        except LaminaError as e:
            return Outcome(FAIL, f"compile: {e.message.splitlines()[0]}")
    declared = [spec.type.tensor_type.elem_type for spec in case.model.graph.input]
    for inputs, expected in case.data_sets:
        arrays = [np.asarray(a) for a in inputs]
        for k, a in enumerate(arrays):
            if a.dtype == object and k < len(declared):
                # The loader hands some inputs over as object arrays; give them the model's dtype.
                try:
                    arrays[k] = a.astype(numpy_dtype_of(declared[k]))
                except (Unsupported, TypeError, ValueError):
                    return Outcome(UNSUPPORTED, "inputs in an element type numpy cannot hold (e.g. float8, int4, strings)")
            if k < len(ranks) and ranks[k] == 0 and arrays[k].shape == (1,):
                # Some cases store a declared scalar as a one-element vector.
                arrays[k] = arrays[k].reshape(())
        try:
            with np.errstate(all="ignore"):
                got = model(*arrays) if model is not None else run_function(module, *arrays)
        except LaminaError as e:
            return Outcome(FAIL, f"run: {e.message.splitlines()[0]}")
        try:
            Runner.assert_similar_outputs([np.asarray(x) for x in expected], got, case.rtol, case.atol)
        except AssertionError as e:
            return Outcome(FAIL, str(e).strip().splitlines()[0][:200] if str(e).strip() else "outputs differ")
    return Outcome(PASS)
