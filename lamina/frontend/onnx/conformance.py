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
    # Inputs the case ran with bound to its data at import time (shape-deciding operands the
    # test feeds as graph inputs): `from_onnx(model, bind_inputs=...)`.
    bound: tuple[str, ...] = ()


def _import(model, bind: dict | None):
    """(module, None) or (None, the outcome of a refusal)."""
    from lamina.frontend.onnx import from_onnx

    try:
        return from_onnx(model, bind_inputs=bind), None
    except LaminaError as e:
        lines = [line.strip() for line in e.message.splitlines()]
        if lines[0].startswith("the model uses") and "op type" in lines[0]:
            return None, Outcome(UNSUPPORTED, "no converter: " + "; ".join(lines[1:]))
        return None, Outcome(UNSUPPORTED, lines[-1])


def _as_array(value) -> np.ndarray:
    """A case's input or expected output as numpy: most arrive as arrays or numpy scalars,
    the Cast/CastLike cases as TensorProtos (so that float8/int4 data survives)."""
    import onnx
    from onnx import numpy_helper

    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return np.asarray(value)


def _case_arrays(case, inputs) -> list[np.ndarray] | Outcome:
    declared = [spec.type.tensor_type.elem_type for spec in case.model.graph.input]
    ranks = [len(spec.type.tensor_type.shape.dim) for spec in case.model.graph.input]
    try:
        arrays = [_as_array(a) for a in inputs]
    except ValueError:
        return Outcome(UNSUPPORTED, "inputs that are not tensors (sequences, maps, optionals)")
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
    return arrays


def _needs_binding(case, arrays: list[np.ndarray]) -> tuple[str, ...]:
    """The inputs the importer asks to have bound, found by binding what each refusal names
    (one refusal can hide the next) as long as they are inputs the case feeds."""
    from lamina.frontend.onnx import InputsMustBeConstant, from_onnx

    values = {spec.name: a for spec, a in zip(case.model.graph.input, arrays)}
    bound: set[str] = set()
    while True:
        try:
            from_onnx(case.model, bind_inputs={n: values[n] for n in bound})
        except InputsMustBeConstant as e:
            new = set(e.inputs) - bound
            if not new or not new <= set(values):
                return tuple(sorted(bound))
            bound |= new
            continue
        except LaminaError:
            pass
        return tuple(sorted(bound))


def run_case(case, compiled: bool = False) -> Outcome:
    """Import, run and compare every data set of a case. Inputs the importer needs as
    constants are bound to each data set's values (so the model is specialised on them) and
    the outcome says which."""
    from onnx.backend.test.runner import Runner

    from lamina.interpreter.graph import run_function

    module, refused = _import(case.model, None)
    bound: tuple[str, ...] = ()
    if refused is not None and case.data_sets:
        first = _case_arrays(case, case.data_sets[0][0])
        bound = _needs_binding(case, first) if not isinstance(first, Outcome) else ()
    if refused is not None and not bound:
        return refused
    names = [spec.name for spec in case.model.graph.input]
    model = None
    for inputs, expected in case.data_sets:
        arrays = _case_arrays(case, inputs)
        if isinstance(arrays, Outcome):
            return arrays
        if bound:
            module, refused = _import(case.model, {n: a for n, a in zip(names, arrays) if n in bound})
            if refused is not None:
                return Outcome(refused.status, refused.detail, bound)
            arrays = [a for n, a in zip(names, arrays) if n not in bound]
            model = None
        if compiled and model is None:
            import lamina

            try:
                model = lamina.compile(module, threads=1)
            except LaminaError as e:
                return Outcome(FAIL, f"compile: {e.message.splitlines()[0]}", bound)
        try:
            with np.errstate(all="ignore"):
                got = model(*arrays) if model is not None else run_function(module, *arrays)
        except LaminaError as e:
            return Outcome(FAIL, f"run: {e.message.splitlines()[0]}", bound)
        try:
            Runner.assert_similar_outputs([_as_array(x) for x in expected], got, case.rtol, case.atol)
        except AssertionError as e:
            return Outcome(FAIL, str(e).strip().splitlines()[0][:200] if str(e).strip() else "outputs differ", bound)
    return Outcome(PASS, bound=bound)
