"""Every dialect lamina knows, for the parser, the printer and `lamina-opt --list-ops`.

Table dialects register here; xDSL's own func/arith/math/builtin ops are known too so loop-level
IR can use them unchanged.
"""

from __future__ import annotations

from functools import cache

from xdsl.context import Context
from xdsl.dialects import arith, builtin, func, math
from xdsl.ir import Dialect, Operation

from lamina.ir.optable import TableDialect


@cache
def table_dialects() -> dict[str, TableDialect]:
    """name -> table dialect. Imported lazily so a dialect's module can import lamina.ir freely."""
    from lamina.dialects.graph import Graph

    found = [Graph]
    for optional in ("lamina.dialects.loop", "lamina.dialects.schedule", "lamina.dialects.device"):
        try:
            module = __import__(optional, fromlist=["DIALECT"])
        except ModuleNotFoundError as e:
            if e.name != optional:
                raise
            continue
        found.append(module.DIALECT)
    return {d.name: d for d in found}


XDSL_DIALECTS: tuple[Dialect, ...] = (builtin.Builtin, func.Func, arith.Arith, math.Math)


@cache
def all_ops() -> dict[str, type[Operation]]:
    """op name -> class, for every op the parser accepts."""
    ops: dict[str, type[Operation]] = {}
    for d in XDSL_DIALECTS:
        for op in d.operations:
            ops[op.name] = op
    for d in table_dialects().values():
        ops.update(d.ops)
    return ops


def dialect_op_names(dialect: str) -> list[str] | None:
    """Op names of one dialect, in table order; None if the dialect is unknown."""
    tables = table_dialects()
    if dialect in tables:
        return list(tables[dialect].ops)
    for d in XDSL_DIALECTS:
        if d.name == dialect:
            return [op.name for op in d.operations]
    return None


def make_context() -> Context:
    ctx = Context(allow_unregistered=False)
    for d in XDSL_DIALECTS:
        ctx.load_dialect(d)
    for d in table_dialects().values():
        ctx.load_dialect(d.xdsl)
    return ctx
