"""Reduction primitives: decompose_reduction and rfactor (TVM semantics).

decompose_reduction(B, L): B's init leaves the block and runs as its own spatial block nest just
before L, over the spatial loops from L inward. rfactor(L): the reduction over L is split in
two: a block `B_rf` accumulating partial results into a new buffer indexed by L's variable
(every other reduce loop still reduces), then B reducing those partials over a new loop.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects.loop import REDUCE, SPATIAL, Loop
from lamina.ir.diagnostics import error_at
from lamina.ir.dims import DimError, parse_dim
from lamina.ir.types import BufferType, is_float, numpy_dtype
from lamina.passes.schedule.analysis import IndexAnalysis, reduction_blocks_of
from lamina.passes.schedule.blocks import label, loads_of, only_block_in_nest, pure_body, stores_of, touches, writes_whole_buffer_at_iterators
from lamina.passes.schedule.nest import (
    IndexMath,
    blocks_under,
    body_ops,
    enclosing_loops,
    loop_var,
    new_if,
    new_loop,
    static_value,
    terminate,
    top_level,
    trip_count,
)
from lamina.passes.schedule.primitives import Runner, register
from lamina.passes.schedule.state import BlockHandle, ScheduleState

INDEX = IndexType()


def new_block(label_: str, bindings: list[SSAValue], kinds: str, domain: list) -> tuple[Operation, Block, Block]:
    init, body = Block(arg_types=[INDEX] * len(bindings)), Block(arg_types=[INDEX] * len(bindings))
    op = Loop["block"].build(list(bindings), {"label": label_, "iter_kinds": kinds, "domain": list(domain)}, [], [Region(init), Region(body)])
    return op, init, body


def clone_slice(value: SSAValue, scope: Operation, mapping: dict[SSAValue, SSAValue], math: IndexMath, at: Operation, what: str) -> SSAValue:
    """value recomputed at math's insertion point, with mapping's values (new loop variables)
    standing for old ones; values from outside scope are used as they are."""
    if value in mapping:
        return mapping[value]
    owner = value.owner
    node = owner if isinstance(owner, Operation) else owner.parent_op()
    if node is None or not scope.is_ancestor(node) or (node is scope and not isinstance(owner, Operation)):
        if not isinstance(owner, Operation) and node is scope:
            raise error_at(at, f"cannot {what}: a value depends on a loop it leaves out")
        return value
    if not isinstance(owner, Operation) or not owner.name.startswith("arith.") or owner.regions:
        raise error_at(at, f"cannot {what}: a value depends on a loop it leaves out")
    operands = {v: clone_slice(v, scope, mapping, math, at, what) for v in owner.operands}
    clone = math.add_op(owner.clone(value_mapper=operands))
    for old, new in zip(owner.results, clone.results):
        mapping[old] = new
    return mapping[value]


def decompose_reduction(state: ScheduleState, block: Operation, loop: Operation, at: Operation) -> Operation:
    what = f"decompose the reduction of '{label(block)}' at '{loop.attr('label')}'"
    if not loop.is_ancestor(block):
        raise error_at(at, f"cannot {what}: the loop does not enclose the block")
    kinds = block.attr("iter_kinds")
    if REDUCE not in kinds or not body_ops(block, 0):
        raise error_at(at, f"cannot {what}: the block has no reduce iterator with an init")
    analysis = IndexAnalysis()
    reduce_vars = frozenset().union(*(analysis.loop_vars(v) for k, v in zip(kinds, block.operands) if k == REDUCE))
    spatial_vars = frozenset().union(*(analysis.loop_vars(v) for k, v in zip(kinds, block.operands) if k != REDUCE))
    for outer in enclosing_loops(loop):
        if id(loop_var(outer)) in reduce_vars:
            raise error_at(at, f"cannot {what}: the reduction loop '{outer.attr('label')}' encloses it, so the init would run again in every iteration of it")
    if spatial_vars & reduce_vars:
        raise error_at(at, f"cannot {what}: a loop feeds both spatial and reduce iterators")
    init_args = list(block.regions[0].block.args)
    for k, arg in zip(kinds, init_args):
        if k == REDUCE and arg.uses:
            raise error_at(at, f"cannot {what}: the init reads a reduce iterator")
    for op in body_ops(block, 0):
        for v in op.operands:
            owner = v.owner
            node = owner if isinstance(owner, Operation) else owner.parent_op()
            if node is not None and loop.is_ancestor(node) and not block.is_ancestor(node):
                raise error_at(at, f"cannot {what}: the init uses a value computed inside the loop")
    chain = [loop, *enclosing_loops(block, stop=loop)]
    kept = [l for l in chain if id(loop_var(l)) in spatial_vars]
    guards = []
    parent = block.parent_op()
    while parent is not loop:
        if parent.name == "loop.if":
            deps = analysis.loop_vars(parent.operands[0])
            if deps & reduce_vars and deps & spatial_vars:
                raise error_at(at, f"cannot {what}: a guard mixes spatial and reduce loops")
            if not deps & reduce_vars:
                guards.append(parent)
        parent = parent.parent_op()
    # The new nest: kept loops (same bounds), guards, then the init block.
    parent_block = loop.parent_block()
    mapping: dict[SSAValue, SSAValue] = {}
    outer_math = IndexMath(anchor=loop)
    loops = []
    host_math = outer_math
    for l in kept:
        lower = clone_slice(l.operands[0], loop, mapping, host_math, at, what)
        upper = clone_slice(l.operands[1], loop, mapping, host_math, at, what)
        new = new_loop(lower, upper, state.fresh_label(l.attr("label") + "_init", bare=True), l.attr("kind"), l.attr("step"))
        if loops:
            loops[-1].regions[0].block.add_op(new)
        else:
            parent_block.insert_op_before(new, loop)
        mapping[loop_var(l)] = loop_var(new)
        loops.append(new)
        host_math = IndexMath(block=new.regions[0].block)
    inner_block = loops[-1].regions[0].block if loops else None
    math = IndexMath(block=inner_block) if inner_block is not None else IndexMath(anchor=loop)
    for g in reversed(guards):
        cond = clone_slice(g.operands[0], loop, mapping, math, at, what)
        guard = new_if(cond)
        math.add_op(guard)
        math = IndexMath(block=guard.regions[0].block)
    spatial = [k for k, c in enumerate(kinds) if c != REDUCE]
    bindings = [clone_slice(block.operands[k], loop, mapping, math, at, what) for k in spatial]
    domain = block.attr("domain")
    init_label = state.fresh_label(label(block) + "_init", bare=True)
    init_op, new_init, new_body = new_block(init_label, bindings, SPATIAL * len(spatial), [domain[k] for k in spatial])
    terminate(new_init)
    arg_map = {init_args[k]: new_body.args[d] for d, k in enumerate(spatial)}
    for op in body_ops(block, 0):
        op.detach()
        for nested in op.walk():
            nested.operands = [arg_map.get(x, x) for x in nested.operands]
        new_body.add_op(op)
    terminate(new_body)
    math.add_op(init_op)
    # Close the regions opened above, innermost first.
    node = init_op.parent_block()
    while node is not None and node is not parent_block:
        terminate(node)
        owner = node.parent_op()
        node = owner.parent_block() if owner is not None else None
    return init_op


IDENTITY = {
    "arith.addf": 0.0,
    "arith.addi": 0,
    "arith.mulf": 1.0,
    "arith.muli": 1,
    "arith.maximumf": float("-inf"),
    "arith.minimumf": float("inf"),
    "arith.maxsi": "min",
    "arith.minsi": "max",
}


def _identity(name: str, t) -> arith.ConstantOp:
    value = IDENTITY[name]
    if is_float(t):
        return arith.ConstantOp(FloatAttr(float(value), t))
    if value in ("min", "max"):
        import numpy as np

        info = np.iinfo(numpy_dtype(t))
        value = int(info.min if value == "min" else info.max)
    return arith.ConstantOp(IntegerAttr(int(value), t))


def _dim_of_extent(loop: Operation):
    count = trip_count(loop)
    if count is not None:
        return count
    upper = loop.operands[1]
    if static_value(loop.operands[0]) == 0 and loop.attr("step") == 1 and upper.owner.name == "loop.size":
        try:
            return parse_dim(upper.owner.attr("value"))
        except DimError:
            return None
    return None


def rfactor(state: ScheduleState, loop: Operation, factor_axis: int, at: Operation) -> Operation:
    what = f"rfactor '{loop.attr('label')}'"
    reducing = reduction_blocks_of(loop)
    if not reducing:
        raise error_at(at, f"cannot {what}: it is not a reduction loop of any block")
    if blocks_under(loop) != reducing[:1] or len(reducing) != 1:
        raise error_at(at, f"cannot {what}: it must hold exactly one block")
    (block,) = reducing
    if not pure_body(block):
        raise error_at(at, f"cannot {what}: the body of '{label(block)}' is not straight-line")
    if not only_block_in_nest(block):
        raise error_at(at, f"cannot {what}: the loop nest of '{label(block)}' holds other blocks")
    trip = trip_count(loop)
    if trip is None or static_value(loop.operands[0]) != 0 or loop.attr("step") != 1:
        raise error_at(at, f"cannot {what}: it must run from 0 by 1 to a static bound")
    stores = [a for a in stores_of(block) if a.op.parent_block() is block.regions[1].block]
    if len(stores) != 1:
        raise error_at(at, f"cannot {what}: '{label(block)}' must store once in its body")
    (store,) = stores
    out = store.buffer
    if not writes_whole_buffer_at_iterators(block, store):
        raise error_at(at, f"cannot {what}: '{label(block)}' must write its whole buffer at its spatial iterators")
    combine = store.op.operands[0].owner
    if not isinstance(combine, Operation) or combine.name not in IDENTITY:
        raise error_at(at, f"cannot {what}: '{label(block)}' does not update its buffer with a recognised reduction (+, *, max, min)")
    old_loads = [a for a in loads_of(block) if a.buffer is out]
    if len(old_loads) != 1 or old_loads[0].indices != store.indices or old_loads[0].op.results[0] not in combine.operands:
        raise error_at(at, f"cannot {what}: '{label(block)}' must read its accumulator once, at the element it stores")
    if sum(1 for _ in old_loads[0].op.results[0].uses) != 1:
        raise error_at(at, f"cannot {what}: the accumulator of '{label(block)}' is used beyond the reduction")
    kinds, domain = block.attr("iter_kinds"), block.attr("domain")
    init_args = list(block.regions[0].block.args)
    if any(k == REDUCE and a.uses for k, a in zip(kinds, init_args)):
        raise error_at(at, f"cannot {what}: the init of '{label(block)}' reads a reduce iterator")
    if any(touches(b, out) for b in blocks_under(top_level(block)) if b is not block):
        raise error_at(at, f"cannot {what}: another block of its nest uses the same buffer")
    rank = len(out.type.shape)
    if not 0 <= factor_axis <= rank:
        raise error_at(at, f"cannot {what}: factor_axis {factor_axis} is not in [0, {rank}]")
    analysis = IndexAnalysis()
    reduce_loop_ids = frozenset().union(*(analysis.loop_vars(v) for k, v in zip(kinds, block.operands) if k == REDUCE))
    other_reduce = [l for l in enclosing_loops(block) if id(loop_var(l)) in reduce_loop_ids and l is not loop]
    other_dims = [_dim_of_extent(l) for l in other_reduce]
    if any(d is None for d in other_dims) or any(l.attr("step") != 1 or static_value(l.operands[0]) != 0 for l in other_reduce):
        raise error_at(at, f"cannot {what}: the other reduction loops must run from 0 by 1 to a size")
    spatial = [k for k, c in enumerate(kinds) if c != REDUCE]
    rf_loops = {id(loop_var(l)) for l in [loop, *other_reduce]}
    parent = block.parent_op()
    while parent is not None and parent.name != "func.func":
        if parent.name == "loop.if" and analysis.loop_vars(parent.operands[0]) & rf_loops:
            raise error_at(at, f"cannot {what}: a guard (from a split that does not divide) skips some partial results, which would stay uninitialised")
        parent = parent.parent_op()

    # -- the partial-result buffer
    shape = list(out.type.shape)
    shape.insert(factor_axis, trip)
    top = top_level(block)
    math = IndexMath(anchor=top)
    sizes = [math.size(d) for d in shape if not isinstance(d, int)]
    rf_type = BufferType.of(shape, out.type.element_type)
    rf = math.add_op(Loop["alloc"].build(sizes, {"scope": "global"}, [rf_type])).results[0]

    # -- B_rf: the old block's place and body, accumulating into rf
    bindings = [block.operands[k] for k in spatial] + [loop_var(loop)] + [loop_var(l) for l in other_reduce]
    rf_kinds = SPATIAL * (len(spatial) + 1) + REDUCE * len(other_reduce)
    rf_domain = [domain[k] for k in spatial] + [trip] + other_dims
    rf_label = state.fresh_label(label(block) + "_rf", bare=True)
    rf_op, rf_init, rf_body = new_block(rf_label, bindings, rf_kinds, rf_domain)
    ns = len(spatial)

    def rf_index(args) -> list[SSAValue]:
        idx = list(args[:ns])
        idx.insert(factor_axis, args[ns])
        return idx

    identity = _identity(combine.name, out.type.element_type)
    rf_init.add_op(identity)
    rf_init.add_op(Loop["store"].build([identity.result, rf, *rf_index(rf_init.args)], result_types=[]))
    terminate(rf_init)
    body_args = list(block.regions[1].block.args)
    arg_map: dict[SSAValue, SSAValue] = {}
    for d, k in enumerate(spatial):
        arg_map[body_args[k]] = rf_body.args[d]
    for k, c in enumerate(kinds):
        if c == REDUCE:
            arg_map[body_args[k]] = block.operands[k]  # the old reduce binding, defined around the block
    for op in body_ops(block, 1):
        op.detach()
        op.operands = [arg_map.get(x, x) for x in op.operands]
        for nested in op.walk():
            nested.operands = [arg_map.get(x, x) for x in nested.operands]
        rf_body.add_op(op)
    terminate(rf_body)
    new_index = rf_index(rf_body.args)
    old_loads[0].op.operands = [rf, *new_index]
    store.op.operands = [store.op.operands[0], rf, *new_index]

    # -- B: reduce the partials over a new loop, in a nest after the old one
    wb_math = IndexMath(anchor=top.next_op if top.next_op is not None else None, block=top.parent_block())
    zero = wb_math.const(0)
    loops = []
    for k in spatial:
        loops.append(new_loop(zero, wb_math.size(domain[k]), state.fresh_label(f"{label(block)}_s{k}", bare=True), "parallel"))
    loops.append(new_loop(zero, wb_math.const(trip), state.fresh_label(f"{label(block)}_{loop.attr('label')}", bare=True), "reduction"))
    for outer, inner in zip(loops, loops[1:]):
        outer.regions[0].block.add_op(inner)
        terminate(outer.regions[0].block)
    wb_op, wb_init, wb_body = new_block(label(block), [loop_var(l) for l in loops], SPATIAL * ns + REDUCE, [domain[k] for k in spatial] + [trip])
    init_map = {init_args[k]: wb_init.args[d] for d, k in enumerate(spatial)}
    for op in body_ops(block, 0):
        op.detach()
        for nested in op.walk():
            nested.operands = [init_map.get(x, x) for x in nested.operands]
        wb_init.add_op(op)
    terminate(wb_init)
    partial = Loop["load"].build([rf, *rf_index(wb_body.args)])
    acc = Loop["load"].build([out, *wb_body.args[:ns]])
    wb_body.add_op(partial)
    wb_body.add_op(acc)
    combined = combine.clone(value_mapper={})
    combined.operands = [acc.results[0], partial.results[0]]
    wb_body.add_op(combined)
    wb_body.add_op(Loop["store"].build([combined.results[0], out, *wb_body.args[:ns]], result_types=[]))
    terminate(wb_body)
    innermost = loops[-1].regions[0].block
    innermost.add_op(wb_op)
    terminate(innermost)
    wb_math.add_op(loops[0])
    block.parent_block().insert_op_before(rf_op, block)
    block.detach()
    block.erase()
    return rf_op


@register("decompose_reduction")
def _decompose_reduction(r: Runner, op: Operation):
    init = decompose_reduction(r.state, r.block(op.operands[0], op), r.loop(op.operands[1], op), op)
    return [BlockHandle(label(init))]


@register("rfactor")
def _rfactor(r: Runner, op: Operation):
    rf = rfactor(r.state, r.loop(op.operands[0], op), op.attr("factor_axis"), op)
    return [BlockHandle(label(rf))]


__all__ = ["clone_slice", "decompose_reduction", "new_block", "rfactor"]
