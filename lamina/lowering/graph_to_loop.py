"""`lower-graph-to-loop`: graph functions over tensors become loop functions over buffers.

Each graph op lowers through its table row: the `compute=` rule text, or the rule text its
`lowering=` builder writes for the op's ranks and attributes; lamina.lowering.rule_lowering
derives the loop nests. Constant-like ops become read-only global buffers (`loop.const`,
numpy-backed). Intermediate tensors become `loop.alloc` buffers; returned values are computed
straight into the function's output buffers (destination passing) and only copied when a
function returns an input, a constant, or one value twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.traits import ConstantLike

from lamina.dialects.loop import OUTPUTS_ATTR, Loop
from lamina.ir.diagnostics import error_at, location_of
from lamina.ir.optable import TableOp, _match_specs
from lamina.ir.types import BufferType, TensorType
from lamina.lowering.compute_rules import RuleError, parse_rules
from lamina.lowering.loop_builder import LoopBuilder
from lamina.lowering.rule_lowering import RuleScope, lower_statement, lower_statements


def buffer_type_of(t: TensorType) -> BufferType:
    return BufferType(t.dims, t.element_type)


def rule_text(op: TableOp) -> str:
    """The compute rule of one graph op instance."""
    row = op.ROW
    if row.lowering is not None:
        return row.lowering(op.view())
    if row.compute is not None:
        return row.compute
    raise error_at(op, f"'{op.name}' has neither a compute rule nor a lowering in its table row")


def value_names(op: TableOp, buffers: dict[SSAValue, SSAValue], results: list[SSAValue]) -> dict[str, SSAValue]:
    """Rule names of the op's operand and result buffers: the row's names; a variadic one's
    values are name0, name1, ..."""
    names: dict[str, SSAValue] = {}
    for specs, values in ((op.ROW.operands, [buffers[v] for v in op.operands]), (op.ROW.results, results)):
        for spec, vals in _match_specs(specs, values):
            if getattr(spec, "variadic", False):
                names.update({f"{spec.name}{k}": v for k, v in enumerate(vals)})
            elif vals:
                names[spec.name] = vals[0]
    return names


def lower_op(b: LoopBuilder, op: TableOp, buffers: dict[SSAValue, SSAValue], results: list[SSAValue], labels: Counter) -> None:
    try:
        statements = parse_rules(rule_text(op))
    except RuleError as e:
        raise error_at(op, f"the compute rule of '{op.name}' is invalid: {e.message}") from None
    attrs = {k: v for k, v in op.attr_values().items() if isinstance(v, bool | int | float)}
    first = op.results[0].type
    scope = RuleScope(
        buffers=value_names(op, buffers, results),
        attrs=attrs,
        result_type=first.element_type,
        label=op.name,
        location=location_of(op),
        alloc_at=b.alloc,
    )
    base = op.name.split(".", 1)[1]

    def next_label() -> str:
        count = labels[base]
        labels[base] += 1
        return base if count == 0 else f"{base}_{count}"

    lower_statements(b, statements, scope, next_label)


def _copy(b: LoopBuilder, src: SSAValue, dst: SSAValue, labels: Counter, location) -> None:
    (stmt,) = parse_rules("out[...] = x[...]")
    scope = RuleScope({"x": src, "out": dst}, {}, dst.type.element_type, "copy", location, b.alloc)
    count = labels["copy"]
    labels["copy"] += 1
    lower_statement(b, stmt, scope, "copy" if count == 0 else f"copy_{count}")


def lower_function(fn: func.FuncOp) -> func.FuncOp:
    """A loop function computing what the graph function computes, in destination-passing style."""
    graph_block = fn.body.block
    ret = graph_block.last_op
    if not isinstance(ret, func.ReturnOp):
        raise error_at(fn, f"@{fn.sym_name.data} has no func.return")
    ins = [a.type for a in graph_block.args]
    outs = [v.type for v in ret.operands]
    for t in (*ins, *outs):
        if not isinstance(t, TensorType):
            raise error_at(fn, f"@{fn.sym_name.data}: lower-graph-to-loop handles tensor arguments and results only, got {t}")
    block = Block(arg_types=[buffer_type_of(t) for t in (*ins, *outs)])
    out_args = block.args[len(ins) :]
    buffers: dict[SSAValue, SSAValue] = dict(zip(graph_block.args, block.args))

    # Returned values computed here are written straight into their output buffer.
    destination: dict[SSAValue, SSAValue] = {}
    copies: list[tuple[SSAValue, SSAValue]] = []
    for value, out_arg in zip(ret.operands, out_args):
        owner = value.owner
        computed = isinstance(owner, Operation) and not owner.has_trait(ConstantLike)
        if computed and value not in destination:
            destination[value] = out_arg
        else:
            copies.append((value, out_arg))

    b = LoopBuilder(block)
    labels: Counter = Counter()
    for op in graph_block.ops:
        if op is ret:
            break
        b.location = location_of(op)
        if op.has_trait(ConstantLike) and isinstance(op, TableOp):
            # The DenseElementsAttr itself moves over: the numpy array is shared, never copied.
            const = b.add(Loop["const"].build([], {"value": op.properties["value"]}))
            buffers[op.results[0]] = const.results[0]
            continue
        if not isinstance(op, TableOp):
            raise error_at(op, f"lower-graph-to-loop does not know how to lower '{op.name}'")
        results = [destination.get(r) or b.alloc(buffer_type_of(r.type)) for r in op.results]
        buffers.update(zip(op.results, results))
        lower_op(b, op, buffers, results, labels)
    b.location = location_of(ret)
    for value, out_arg in copies:
        _copy(b, buffers[value], out_arg, labels, b.location)
    b.add(func.ReturnOp())
    new = func.FuncOp(fn.sym_name.data, ([a.type for a in block.args], []), Region(block))
    new.attributes[OUTPUTS_ATTR] = IntegerAttr(len(outs), 64)
    if fn.location is not None:
        new.location = fn.location
    return new


def is_graph_function(fn: func.FuncOp) -> bool:
    return any(isinstance(t, TensorType) for t in (*fn.function_type.inputs.data, *fn.function_type.outputs.data))


def lower_module(module: ModuleOp) -> None:
    for fn in list(module.ops):
        if isinstance(fn, func.FuncOp) and is_graph_function(fn):
            new = lower_function(fn)
            module.body.block.insert_op_before(new, fn)
            fn.detach()
            fn.erase()


@dataclass(frozen=True)
class LowerGraphToLoop(ModulePass):
    """Every graph function becomes a loop function (destination-passing, `lamina.outputs`
    trailing output buffers) whose loop nests are derived from the ops' compute rules."""

    name = "lower-graph-to-loop"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lower_module(op)


__all__ = ["LowerGraphToLoop", "lower_function", "lower_module", "rule_text"]
