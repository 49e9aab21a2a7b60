"""The reference interpreter: runs a graph function on numpy arrays through each row's
`reference`. It is the oracle every pass, lowering and target is tested against."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from lamina.ir.diagnostics import LaminaError, error_at
from lamina.ir.dims import SymDim, evaluate_dim
from lamina.ir.optable import TableOp
from lamina.ir.types import ShapedTypeMixin


def find_function(module: ModuleOp | func.FuncOp, name: str | None = None) -> func.FuncOp:
    if isinstance(module, func.FuncOp):
        return module
    funcs = [op for op in module.ops if isinstance(op, func.FuncOp)]
    if name is not None:
        funcs = [f for f in funcs if f.sym_name.data == name]
    if not funcs:
        raise LaminaError(f"no function{' @' + name if name else ''} in the module")
    return funcs[0]


def bind_arguments(fn: func.FuncOp, arrays: Sequence[np.ndarray]) -> dict[str, int]:
    """Check arrays against the argument types and return the values of symbolic dims."""
    args = fn.body.block.args
    if len(arrays) != len(args):
        raise LaminaError(f"@{fn.sym_name.data} takes {len(args)} inputs, got {len(arrays)}")
    env: dict[str, int] = {}
    for k, (arg, arr) in enumerate(zip(args, arrays)):
        t = arg.type
        if not isinstance(t, ShapedTypeMixin):
            continue
        if arr.dtype != t.dtype:
            raise LaminaError(f"input #{k} of @{fn.sym_name.data} must be {t.dtype}, got {arr.dtype}")
        if arr.ndim != t.rank:
            raise LaminaError(f"input #{k} of @{fn.sym_name.data} must have rank {t.rank}, got shape {arr.shape}")
        for axis, (d, n) in enumerate(zip(t.shape, arr.shape)):
            name = d.as_symbol() if isinstance(d, SymDim) else None
            if name is not None:
                if env.setdefault(name, n) != n:
                    raise LaminaError(f"input #{k} axis {axis}: '{name}' is {env[name]} elsewhere but {n} here")
        for axis, (d, n) in enumerate(zip(t.shape, arr.shape)):
            try:
                want = evaluate_dim(d, env)
            except KeyError:
                continue
            if want != n:
                raise LaminaError(f"input #{k} of @{fn.sym_name.data} axis {axis} must be {d}, got {n}")
    return env


def run_op(op: Operation, inputs: list[np.ndarray], symbols: dict[str, int] | None = None) -> list[np.ndarray]:
    """Run one table op through its row's reference. Symbolic sizes in "dims" attributes (a
    reshape to [n, 4], say) take their values from `symbols`."""
    if not isinstance(op, TableOp) or op.ROW.reference is None:
        raise error_at(op, f"the interpreter has no semantics for '{op.name}'")
    attrs = {k: v for k, v in op.attr_values().items() if v is not None}
    for spec in op.ROW.attrs:
        if spec.kind == "dims" and spec.name in attrs:
            try:
                attrs[spec.name] = tuple(evaluate_dim(d, symbols or {}) for d in attrs[spec.name])
            except KeyError as e:
                raise error_at(op, f"symbolic size {e.args[0]} has no value here") from None
    out = op.ROW.reference(*inputs, **attrs)
    outs = list(out) if isinstance(out, tuple | list) else [out]
    return [np.asarray(o, dtype=r.type.dtype) if isinstance(r.type, ShapedTypeMixin) else o for o, r in zip(outs, op.results)]


def check_result_shapes(op: Operation, results: list[np.ndarray], symbols: dict[str, int]) -> None:
    """The row's type rule and its reference must agree; a mismatch is a bug in the table."""
    for k, (r, arr) in enumerate(zip(op.results, results)):
        if not isinstance(r.type, ShapedTypeMixin):
            continue
        want = tuple(evaluate_dim(d, symbols) for d in r.type.shape)
        if tuple(arr.shape) != want:
            raise error_at(op, f"'{op.name}' result #{k}: the reference gave shape {arr.shape} but the type says {want}")


def run_function(module: ModuleOp | func.FuncOp, *arrays: np.ndarray, name: str | None = None) -> list[np.ndarray]:
    fn = find_function(module, name)
    arrays = [np.asarray(a) for a in arrays]
    symbols = bind_arguments(fn, arrays)
    env: dict[SSAValue, np.ndarray] = dict(zip(fn.body.block.args, arrays))
    for op in fn.body.block.ops:
        if isinstance(op, func.ReturnOp):
            return [env[v] for v in op.operands]
        with np.errstate(all="ignore"):
            results = run_op(op, [env[v] for v in op.operands], symbols)
        check_result_shapes(op, results, symbols)
        env.update(zip(op.results, results))
    raise error_at(fn, f"@{fn.sym_name.data} has no func.return")
