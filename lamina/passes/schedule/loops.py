"""Loop-structure primitives: split, fuse, reorder, tile (TVM TensorIR semantics).

Each rewrites `loop.for` ops in place and keeps the iteration space: a split's inner variables
recombine into the old variable (guarded by loop.if when the factors overshoot the extent), a
fuse's variable is divided back into the old ones, a reorder permutes loop headers of a perfect
rectangular nest.
"""

from __future__ import annotations

from math import prod

from xdsl.ir import Operation, SSAValue

from lamina.dialects.loop import Loop
from lamina.ir.dims import DimError, dim_exact_div, parse_dim
from lamina.ir.diagnostics import error_at
from lamina.passes.schedule.nest import (
    IndexMath,
    body_ops,
    bound_anchor,
    enclosing_loops,
    is_block,
    is_loop,
    loop_var,
    move_body,
    new_if,
    new_loop,
    perfect_chain,
    static_extent,
    static_value,
    terminate,
)
from lamina.passes.schedule.state import ScheduleState


def _offset(lower: SSAValue) -> SSAValue | int:
    """A lower bound as IndexMath takes it: the int when constant, so zero folds away."""
    value = static_value(lower)
    return lower if value is None else value


def _symbolic_extent_dim(loop: Operation):
    """The dim expression of a loop's extent when it runs from 0 to a loop.size."""
    lower, upper = loop.operands
    if static_value(lower) != 0 or upper.owner.name != "loop.size":
        return None
    try:
        return parse_dim(upper.owner.attr("value"))
    except DimError:
        return None


def split(state: ScheduleState, loop: Operation, factors: list[int], at: Operation) -> list[Operation]:
    label = loop.attr("label")
    if loop.attr("step") != 1:
        raise error_at(at, f"cannot split '{label}': its step is {loop.attr('step')}, split handles step 1 only")
    if sum(1 for f in factors if f == -1) > 1 or any(f < 1 and f != -1 for f in factors):
        raise error_at(at, f"split factors must be positive with at most one -1, got {factors}")
    lower, upper = loop.operands
    extent = static_extent(loop)
    math = IndexMath(bound_anchor(loop))
    known = prod(f for f in factors if f != -1)
    guard = True
    if extent is not None:
        if -1 in factors:
            sizes: list = [(-(-extent // known) if f == -1 else f) for f in factors]
        else:
            sizes = list(factors)
            if known < extent:
                raise error_at(at, f"cannot split '{label}': factors {factors} cover {known} iterations, fewer than its extent {extent}")
        guard = prod(sizes) != extent
    else:
        if -1 not in factors:
            raise error_at(at, f"cannot split '{label}': its extent is symbolic, so one factor must be -1 (inferred)")
        dim = _symbolic_extent_dim(loop)
        exact = None
        if dim is not None:
            try:
                exact = dim_exact_div(dim, known)
            except DimError:
                exact = None
        if exact is not None:
            inferred = math.const(exact) if isinstance(exact, int) else math.add_op(Loop["size"].build([], {"value": str(exact)})).results[0]
            guard = False
        else:
            inferred = math.ceildiv(math.sub(upper, _offset(lower)), known)
        sizes = [inferred if f == -1 else f for f in factors]
    # Stride of each new variable in the old one: the product of the sizes inside it.
    strides: list = []
    for k in range(len(sizes)):
        s = 1
        for size in sizes[k + 1 :]:
            s = math.mul(s, size)
        strides.append(s)
    zero = math.const(0)
    bounds = [math.value(s) for s in sizes]
    labels = state.fresh_labels(label or "loop", len(sizes))
    kind = loop.attr("kind")
    loops = [new_loop(zero, b, lab, kind) for b, lab in zip(bounds, labels)]
    for outer, inner in zip(loops, loops[1:]):
        outer.regions[0].block.add_op(inner)
        terminate(outer.regions[0].block)
    innermost = loops[-1].regions[0].block
    move_body(loop.regions[0].block, innermost)
    terminate(innermost)
    # Recombine (and guard) as deep as the nest below stays perfect, so later reorders and
    # tiles still see one perfect nest.
    old_var = loop_var(loop)
    host = deepest_host(loops[-1], {old_var})
    host_block = host.regions[0].block
    first = host_block.first_op
    inner_math = IndexMath(anchor=first)
    value: SSAValue | int = lower if static_value(lower) != 0 else 0
    for new, stride in zip(loops, strides):
        value = inner_math.add(value, inner_math.mul(loop_var(new), stride))
    value = inner_math.value(value)
    if guard:
        cond = inner_math.less(value, upper)
        guard_op = new_if(cond)
        then = guard_op.regions[0].block
        for op in list(host_block.ops):
            if op is guard_op or op.name == "loop.yield" or op in _defining_ops(value, cond):
                continue
            op.detach()
            then.add_op(op)
        terminate(then)
        host_block.insert_op_before(guard_op, host_block.last_op)
    old_var.replace_all_uses_with(value)
    loop.parent_block().insert_op_before(loops[0], loop)
    loop.detach()
    loop.erase()
    return loops


def deepest_host(loop: Operation, old_vars: set[SSAValue]) -> Operation:
    """The innermost loop of the perfect chain below `loop` whose bounds use none of old_vars:
    where recombined variables (and guards) go so the nest stays perfect."""
    host = loop
    while True:
        ops = body_ops(host)
        if len(ops) == 1 and is_loop(ops[0]) and not set(ops[0].operands) & old_vars:
            host = ops[0]
        else:
            return host


def _defining_ops(*values) -> set[Operation]:
    """Ops in the slice computing values from loop variables (just emitted index math)."""
    seen: set[Operation] = set()
    work = [v.owner for v in values if isinstance(v.owner, Operation)]
    while work:
        op = work.pop()
        if op in seen:
            continue
        seen.add(op)
        work.extend(o.owner for o in op.operands if isinstance(o.owner, Operation))
    return seen


def fuse(state: ScheduleState, loops: list[Operation], at: Operation) -> Operation:
    labels = [l.attr("label") for l in loops]
    if len(loops) < 2:
        raise error_at(at, "fuse needs at least two loops")
    chain = perfect_chain(loops[0], loops[-1])
    if chain is None or chain != loops:
        raise error_at(at, f"cannot fuse {', '.join(labels)}: they are not consecutive loops of one perfect nest, outermost first")
    inside = set(chain)
    for l in chain:
        if l.attr("step") != 1:
            raise error_at(at, f"cannot fuse '{l.attr('label')}': its step is {l.attr('step')}")
        for bound in l.operands:
            owner = bound.owner
            node = owner if isinstance(owner, Operation) else owner.parent_op()
            if any(c.is_ancestor(node) for c in inside if node is not None):
                raise error_at(at, f"cannot fuse: the bounds of '{l.attr('label')}' depend on an enclosing loop of the chain")
    math = IndexMath(bound_anchor(loops[0]))
    extents = [math.sub(l.operands[1], _offset(l.operands[0])) for l in loops]
    total = 1
    for e in extents:
        total = math.mul(total, e)
    kinds = {l.attr("kind") for l in loops}
    kind = "reduction" if "reduction" in kinds else "parallel" if kinds == {"parallel"} else "serial"
    fused = new_loop(math.const(0), math.value(total), state.fresh_label("_".join(labels) + "_fused", bare=True), kind)
    body = fused.regions[0].block
    move_body(loops[-1].regions[0].block, body)
    terminate(body)
    old_vars = [loop_var(l) for l in loops]
    host = deepest_host(fused, set(old_vars))
    inner_math = IndexMath(anchor=host.regions[0].block.first_op)
    rest: SSAValue | int = loop_var(fused)
    values = []
    for l, e in reversed(list(zip(loops, extents))):
        if l is loops[0]:
            v = rest
        else:
            v = inner_math.rem(rest, e)
            rest = inner_math.floordiv(rest, e)
        v = inner_math.add(v, l.operands[0] if static_value(l.operands[0]) != 0 else 0)
        values.append(inner_math.value(v))
    values.reverse()
    for old, v in zip(old_vars, values):
        old.replace_all_uses_with(v)
    outer = loops[0]
    outer.parent_block().insert_op_before(fused, outer)
    outer.detach()
    outer.erase()
    return fused


def reorder(state: ScheduleState, loops: list[Operation], at: Operation) -> None:
    labels = [l.attr("label") for l in loops]
    if len(set(map(id, loops))) != len(loops):
        raise error_at(at, f"reorder got a loop twice: {', '.join(labels)}")
    # The given loops must lie on one line of nesting; order them by depth.
    by_depth = sorted(loops, key=lambda l: len(enclosing_loops(l)))
    for outer, inner in zip(by_depth, by_depth[1:]):
        if not outer.is_ancestor(inner):
            raise error_at(at, f"cannot reorder {', '.join(labels)}: '{outer.attr('label')}' does not enclose '{inner.attr('label')}'")
    chain = perfect_chain(by_depth[0], by_depth[-1])
    if chain is None:
        raise error_at(at, _imperfect_reason(by_depth[0], by_depth[-1], labels))
    inside = {id(o) for l in chain for o in l.walk()}
    vars_ = {loop_var(l) for l in chain}
    for l in chain:
        for bound in l.operands:
            if bound in vars_ or id(bound.owner) in inside:
                raise error_at(at, f"cannot reorder: the bounds of '{l.attr('label')}' depend on a loop of the nest (not rectangular)")
    # Parallel loops have no dependence between iterations and reduction loops only combine
    # into accumulators, so any order of them computes the same; a serial loop's order is
    # part of the meaning (a dependence may run across it), so a band holding one is left alone.
    serial = next((l for l in chain if l.attr("kind") == "serial"), None)
    if serial is not None:
        raise error_at(at, f"cannot reorder {', '.join(labels)}: '{serial.attr('label')}' is a serial loop, its iterations must keep their order")
    positions = [i for i, l in enumerate(chain) if any(l is g for g in loops)]
    order = list(range(len(chain)))
    for pos, loop in zip(positions, loops):
        order[pos] = next(i for i, l in enumerate(chain) if l is loop)
    _permute(chain, order)


def _imperfect_reason(outer: Operation, inner: Operation, labels: list[str]) -> str:
    """Why outer..inner is not a perfect nest; names the decomposed init that is in the way
    when reordering would hoist a reduction loop above it."""
    loop = outer
    while loop is not inner:
        ops = body_ops(loop)
        if len(ops) != 1 or not is_loop(ops[0]):
            nested = next((o for o in ops if o.is_ancestor(inner)), None)
            below = {b.attr("label") for b in (nested.walk() if nested is not None else ()) if is_block(b)}
            for other in ops:
                if other is nested:
                    continue
                for b in other.walk():
                    if is_block(b) and b.attr("label").endswith("_init") and b.attr("label")[: -len("_init")] in below:
                        return (
                            f"cannot reorder {', '.join(labels)}: that would move a reduction loop outside the init of "
                            f"its block '{b.attr('label')[: -len('_init')]}' (decomposed under '{loop.attr('label')}')"
                        )
            return f"cannot reorder {', '.join(labels)}: they are not in one perfect nest ('{loop.attr('label')}' holds more than the next loop)"
        loop = ops[0]
    return f"cannot reorder {', '.join(labels)}: they are not in one perfect nest"


def _permute(chain: list[Operation], order: list[int]) -> None:
    """Loop at depth i takes the header (bounds, kind, label, annotations) and the variable's
    role of chain[order[i]]."""
    headers = [(list(l.operands), dict(l.properties)) for l in chain]
    args = [loop_var(l) for l in chain]
    uses = [(use.operation, use.index, q) for q, a in enumerate(args) for use in list(a.uses)]
    for i, q in enumerate(order):
        operands, props = headers[q]
        chain[i].operands = operands
        chain[i].properties = dict(props)
    new_var = {q: args[i] for i, q in enumerate(order)}
    for op, index, q in uses:
        operands = list(op.operands)
        operands[index] = new_var[q]
        op.operands = operands


def tile(state: ScheduleState, loops: list[Operation], sizes: list[int], at: Operation) -> list[Operation]:
    labels = [l.attr("label") for l in loops]
    chain = perfect_chain(loops[0], loops[-1])
    if chain is None or chain != loops:
        raise error_at(at, f"cannot tile {', '.join(labels)}: they are not consecutive loops of one perfect nest, outermost first")
    outers, inners = [], []
    for loop, size in zip(loops, sizes):
        extent = static_extent(loop)
        factors = [-1, size] if extent is None or extent >= size else [1, extent]
        outer, inner = split(state, loop, factors, at)
        outers.append(outer)
        inners.append(inner)
    reorder(state, outers + inners, at)
    # reorder moved headers, not ops: find the loops by label again.
    by_label = {l.attr("label"): l for l in state.fn.walk() if is_loop(l)}
    return [by_label[l.attr("label")] for l in outers + inners]
