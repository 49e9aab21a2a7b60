"""`absorb-pads`: a zero-padded copy of a buffer becomes the buffer itself.

`explicit-padding` gives each conv with padding a pad nest before it,

    P[n, c, y, x] = select(inside, X[n, c, clamp(y - 1), clamp(x - 1)], 0.0)

one more pass over the activations (about 1 ms of ResNet-18 on this machine, with the ReLU
nests before them another 1.3 ms that a pad cannot absorb otherwise). When X is an
intermediate buffer that nothing writes after the pad, X's producers can write P's interior
directly and every reader of X can read it there:

    X[i...]  ->  P[i + low...]          (every load and store of X)

and the pad nest shrinks to the border: one nest over the leading unpadded axes (batch,
channels) holding a box of loops per padded side, writing the fill value.
The pass runs after the schedule (it changes indices, not loops), so every decision the default
schedule made for the nests around still holds; the vectorized producer stores rows at an
offset of `low` elements, still contiguous.

A pad whose source stays (a model input) is copied, border and interior, in nests of its own
(split_pad), except when its only reader is a nest whose outermost loop reads one channel of P
per iteration, that loop's own (a depthwise conv): then each iteration pads its channel first
(pad_per_channel), on the thread that reads it, while the rows are still in its cache, and
the copy needs no parallel region of its own (at two threads the copy had taken about as long
as the conv, 64 x 56 x 56).

A pad block is recognised by its body, as the `pad(access, value)` lowering writes it: one load
of X at `d - low` per axis (clamped or not: a clamp changes only masked indices), guarded by a
conjunction of `d - low >= 0` and `d - low < size` that holds every check a side with padding
needs (and no other kind), selecting a constant fill outside, stored at the block's iterators.
Anything else is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects.loop import SPATIAL, Loop
from lamina.ir.arith_predicates import CMPI_PREDICATES
from lamina.passes.loop.simplify_indices import index_range
from lamina.passes.schedule.blocks import is_intermediate, nest_index, readers, writers
from lamina.passes.schedule.analysis import IndexAnalysis
from lamina.passes.schedule.nest import blocks_under, body_ops, loop_var, static_value, terminate, top_level

INDEX = IndexType()
# A border row at least this long is written with vector stores.
VECTOR_ROW = 8


@dataclass
class PadCopy:
    block: Operation
    source: SSAValue  # X
    padded: SSAValue  # P
    low: list[int]
    high: list[int]
    fill: Operation  # the arith.constant selected outside


def _folded(value: SSAValue) -> int | None:
    """An index value that can take one value only (a constant, or the `size - 1` the lowering
    leaves), by simplify-indices' range analysis."""
    bounds = index_range(value)
    return bounds[0] if bounds is not None and bounds[0] == bounds[1] else None


def _offset_of(index: SSAValue, arg: SSAValue) -> int | None:
    """low when index is `arg - low` (or arg itself, low 0)."""
    if index is arg:
        return 0
    op = index.owner
    if isinstance(op, arith.SubiOp) and op.lhs is arg:
        return _folded(op.rhs)
    return None


def _unclamped(index: SSAValue, size: int) -> SSAValue:
    """index without the clamps max(., 0) and min(., size - 1) around it: they change only the
    indices the guard masks."""
    while isinstance(index.owner, (arith.MaxSIOp, arith.MinSIOp)):
        op = index.owner
        bound = 0 if isinstance(op, arith.MaxSIOp) else size - 1
        if _folded(op.rhs) == bound:
            index = op.lhs
        elif _folded(op.lhs) == bound:
            index = op.rhs
        else:
            break
    return index


def _conjuncts(cond: SSAValue) -> list[SSAValue]:
    op = cond.owner
    if isinstance(op, arith.AndIOp):
        return _conjuncts(op.lhs) + _conjuncts(op.rhs)
    return [cond]


def _bound_check(value: SSAValue) -> tuple[str, SSAValue, int] | None:
    op = value.owner
    if not isinstance(op, arith.CmpiOp):
        return None
    bound = _folded(op.rhs)
    return None if bound is None else (CMPI_PREDICATES[op.predicate.value.data], op.lhs, bound)


def match_pad(block: Operation) -> PadCopy | None:
    """The pad copy `block` performs, or None when its body is not exactly one."""
    if set(block.attr("iter_kinds")) != set(SPATIAL) or body_ops(block, 0):
        return None
    body = block.regions[1].block
    args = list(body.args)
    loads = [op for op in body.ops if op.name == "loop.load"]
    stores = [op for op in body.ops if op.name == "loop.store"]
    if len(loads) != 1 or len(stores) != 1 or list(stores[0].operands[2:]) != args:
        return None
    load, store = loads[0], stores[0]
    source, padded = load.operands[0], store.operands[1]
    src_shape, pad_shape = list(source.type.shape), list(padded.type.shape)
    if len(src_shape) != len(args) or list(block.attr("domain")) != pad_shape or source.type.element_type != padded.type.element_type:
        return None
    if not all(isinstance(d, int) for d in src_shape + pad_shape):
        return None
    select = store.operands[0].owner
    if not isinstance(select, arith.SelectOp) or select.lhs is not load.results[0]:
        return None
    fill = select.rhs.owner
    if not isinstance(fill, arith.ConstantOp):
        return None
    low, allowed, required = [], set(), set()
    for k, (index, arg) in enumerate(zip(load.operands[1:], args)):
        shifted = _unclamped(index, src_shape[k])
        offset = _offset_of(shifted, arg)
        if offset is None or offset < 0 or pad_shape[k] - src_shape[k] - offset < 0:
            return None
        low.append(offset)
        below, above = ("sge", shifted, 0), ("slt", shifted, src_shape[k])
        allowed |= {below, above}
        if offset:
            required.add(below)
        if pad_shape[k] - src_shape[k] - offset:
            required.add(above)
    checks = {_bound_check(c) for c in _conjuncts(select.cond)}
    if not required <= checks <= allowed:
        return None
    high = [p - s - lo for p, s, lo in zip(pad_shape, src_shape, low)]
    if not required:
        return None
    return PadCopy(block, source, padded, low, high, fill)


def absorbable(pad: PadCopy, fn: func.FuncOp) -> bool:
    """X and P are intermediate buffers; X is only loaded and stored, written only before the
    pad's nest; P is written by the pad alone and read only after it; the nest holds nothing else."""
    if not (is_intermediate(pad.source) and is_intermediate(pad.padded)):
        return False
    top = top_level(pad.block)
    if blocks_under(top) != [pad.block]:
        return False
    for use in pad.source.uses:
        if (use.operation.name, use.index) not in (("loop.load", 0), ("loop.store", 1)) or top_level(use.operation).parent_op() is not fn:
            return False
    position = nest_index(pad.block)
    if any(nest_index(w) >= position for w in writers(fn, pad.source)):
        return False
    if writers(fn, pad.padded) != [pad.block]:
        return False
    return all(nest_index(r) > position for r in readers(fn, pad.padded))


def _shift(op: Operation, buffer_at: int, padded: SSAValue, low: list[int]) -> None:
    operands = list(op.operands)
    indices = operands[buffer_at + 1 :]
    shifted = []
    for index, lo in zip(indices, low):
        if lo:
            offset = arith.ConstantOp(IntegerAttr(lo, INDEX))
            moved = arith.AddiOp(index, offset.result)
            op.parent_block().insert_ops_before([offset, moved], op)
            index = moved.result
        shifted.append(index)
    op.operands = operands[:buffer_at] + [padded] + shifted


def _loop(lo: int, hi: int, label: str) -> tuple[list[Operation], Operation]:
    """A serial loop over [lo, hi): its bound constants, then the loop (body unterminated)."""
    lower, upper = arith.ConstantOp(IntegerAttr(lo, INDEX)), arith.ConstantOp(IntegerAttr(hi, INDEX))
    loop = Loop["for"].build([lower.result, upper.result], {"kind": "serial", "label": label, "step": 1}, [], [Region(Block(arg_types=[INDEX]))])
    return [lower, upper, loop], loop


def _border_nest(pad: PadCopy, boxes: list[list[tuple[int, int]]], lead: int, label: str, fixed: list[SSAValue] | None = None) -> list[Operation]:
    """One serial nest writing the fill over `boxes` of P: loops over the `lead` leading axes
    (whole in every box) shared, one sub-nest per box inside. Sharing them keeps the box
    loops from being innermost: LLVM fully unrolled a channel loop around each border row's
    memset, and the backend took a second per pad to schedule the result. With `fixed`, the
    leading axes take those indices instead of loops (one channel's border)."""
    shape = list(pad.padded.type.shape)
    ops: list[Operation] = []
    lead_loops: list[Operation] = []

    def place(made: list[Operation]) -> None:
        """In the innermost shared loop, or at the top when there is none."""
        if lead_loops:
            lead_loops[-1].regions[0].block.add_ops(made)
        else:
            ops.extend(made)

    for k in range(lead if fixed is None else 0):
        made, loop = _loop(0, shape[k], f"{label}_d{k}")
        place(made)
        lead_loops.append(loop)
    shared = [loop_var(loop) for loop in lead_loops] if fixed is None else fixed
    for n, box in enumerate(boxes):
        made = [_loop(*box[k], f"{label}_b{n}_d{k}") for k in range(lead, len(shape))]
        for (_, above), (inner_ops, _) in zip(made, made[1:]):
            above.regions[0].block.add_ops(inner_ops)
            terminate(above.regions[0].block)
        innermost = made[-1][1]
        init, body = Block(arg_types=[INDEX] * len(shape)), Block(arg_types=[INDEX] * len(shape))
        terminate(init)
        fill = pad.fill.clone()
        body.add_ops([fill, Loop["store"].build([fill.results[0], pad.padded, *body.args], result_types=[])])
        terminate(body)
        variables = shared + [loop_var(loop) for _, loop in made]
        attributes = {"label": f"{label}_{n}" if n else label, "iter_kinds": SPATIAL * len(shape), "domain": shape}
        innermost.regions[0].block.add_op(Loop["block"].build(variables, attributes, [], [Region(init), Region(body)]))
        terminate(innermost.regions[0].block)
        if box[-1][1] - box[-1][0] >= VECTOR_ROW:
            innermost.properties["vectorize"] = IntegerAttr(1, 1)
        place(made[0][0])
    for loop in lead_loops:
        terminate(loop.regions[0].block)
    return ops


def border_boxes(shape: list[int], low: list[int], high: list[int]) -> list[list[tuple[int, int]]]:
    """Disjoint boxes covering P minus its interior: along each padded axis k, the low and the
    high side, over the interior of the axes before k and the whole of the axes after it."""
    boxes = []
    for k in range(len(shape)):
        before = [(lo, size - hi) for size, lo, hi in zip(shape[:k], low[:k], high[:k])]
        after = [(0, size) for size in shape[k + 1 :]]
        if low[k]:
            boxes.append(before + [(0, low[k])] + after)
        if high[k]:
            boxes.append(before + [(shape[k] - high[k], shape[k])] + after)
    return boxes


def _keep_border(pad: PadCopy, interior: list[Operation]) -> None:
    """The pad's nest replaced by its border nest, then the `interior` ops."""
    top = top_level(pad.block)
    parent = top.parent_block()
    boxes = border_boxes(list(pad.padded.type.shape), pad.low, pad.high)
    lead = next((k for k, (lo, hi) in enumerate(zip(pad.low, pad.high)) if lo or hi), len(pad.low))
    parent.insert_ops_before(_border_nest(pad, boxes, lead, f"{pad.block.attr('label')}_border"), top)
    parent.insert_ops_before(interior, top)
    parent.erase_op(top)


def absorb(pad: PadCopy) -> None:
    _keep_border(pad, [])
    for use in list(pad.source.uses):
        _shift(use.operation, 0 if use.operation.name == "loop.load" else 1, pad.padded, pad.low)
    alloc = pad.source.owner
    alloc.parent_block().erase_op(alloc)


def _interior_copy(pad: PadCopy, label: str, kind: str, fixed: list[SSAValue] | None = None) -> list[Operation]:
    """`P[i + low] = X[i]` over X's shape: its rows (every axis but the last, as one loop of
    `kind`) outside, the last axis vectorized inside. With `fixed`, the leading axes take those
    indices (one channel's rows)."""
    shape = list(pad.source.type.shape)
    lead = 0 if fixed is None else len(fixed)
    ops: list[Operation] = []
    rows_made, rows_loop = _loop(0, prod(shape[lead:-1]), f"{label}_rows")
    rows_loop.properties["kind"] = StringAttr(kind)
    ops.extend(rows_made)
    row_body = rows_loop.regions[0].block
    indices, rest = [], loop_var(rows_loop)
    for k in range(len(shape) - 2, lead - 1, -1):  # the row number in X's shape, last axis fastest
        size = arith.ConstantOp(IntegerAttr(shape[k], INDEX))
        index, quotient = arith.RemUIOp(rest, size.result), arith.DivUIOp(rest, size.result)
        row_body.add_ops([size, index, quotient])
        indices.insert(0, index.result)
        rest = quotient.result
    indices = list(fixed or []) + indices
    made, inner = _loop(0, shape[-1], f"{label}_d{len(shape) - 1}")
    inner.properties["vectorize"] = IntegerAttr(1, 1)
    row_body.add_ops(made)
    terminate(row_body)
    init, body = Block(arg_types=[INDEX] * len(shape)), Block(arg_types=[INDEX] * len(shape))
    terminate(init)
    value = Loop["load"].build([pad.source, *body.args])
    body.add_op(value)
    store = Loop["store"].build([value.results[0], pad.source, *body.args], result_types=[])
    body.add_op(store)
    _shift(store, 1, pad.padded, pad.low)
    terminate(body)
    attributes = {"label": label, "iter_kinds": SPATIAL * len(shape), "domain": shape}
    inner.regions[0].block.add_op(Loop["block"].build([*indices, loop_var(inner)], attributes, [], [Region(init), Region(body)]))
    terminate(inner.regions[0].block)
    return ops


def split_pad(pad: PadCopy) -> None:
    """A pad whose source stays (a model input, a buffer used elsewhere): the border filled, the
    interior copied row by row with vector loads and stores. As one nest its clamped loads kept
    the whole copy scalar (a 64 x 56 x 56 input's pad took as long as the depthwise conv after it)."""
    kind = top_level(pad.block).attr("kind")
    _keep_border(pad, _interior_copy(pad, f"{pad.block.attr('label')}_interior", kind))


def _always_zero(var_id: int, loops: dict[int, Operation]) -> bool:
    loop = loops.get(var_id)
    return loop is not None and static_value(loop.operands[0]) == 0 and static_value(loop.operands[1]) == 1


def channel_loop(pad: PadCopy, fn: func.FuncOp) -> Operation | None:
    """The loop a kept source's pad can run inside, one channel per iteration: the outermost loop
    of P's only reading nest, when P is (1, C, padded axes...), every load of P there reads channel
    `the loop's variable` (clamps aside: they change only masked indices), the loop stays within
    the C channels, and nothing writes X between the pad's nest and that one."""
    shape = list(pad.padded.type.shape)
    if len(shape) < 3 or shape[0] != 1 or pad.low[:2] != [0, 0] or pad.high[:2] != [0, 0]:
        return None
    pad_top = top_level(pad.block)
    if blocks_under(pad_top) != [pad.block] or writers(fn, pad.padded) != [pad.block]:
        return None
    tops = {id(top_level(r)): top_level(r) for r in readers(fn, pad.padded)}
    if len(tops) != 1:
        return None
    (reader,) = tops.values()
    if reader.name != "loop.for" or reader.attr("step") != 1:
        return None
    lower, upper = static_value(reader.operands[0]), static_value(reader.operands[1])
    if lower is None or upper is None or lower < 0 or upper > shape[1]:
        return None
    first, last = nest_index(pad.block), nest_index(reader)
    if any(first <= nest_index(w) <= last for w in writers(fn, pad.source)):
        return None
    var = loop_var(reader)
    loops = {id(loop_var(op)): op for op in reader.walk() if op.name == "loop.for"}
    analysis = IndexAnalysis()
    for use in pad.padded.uses:
        op = use.operation
        if op.name != "loop.load" or use.index != 0:
            continue
        form = analysis.affine(_unclamped(op.operands[2], shape[1]))
        if form.const != 0 or form.coeff(var) != 1:
            return None
        if any(k != id(var) and not _always_zero(k, loops) for k, _ in form.terms):
            return None
    return reader


def pad_per_channel(pad: PadCopy, loop: Operation) -> None:
    """The pad's nest moved to the start of `loop`'s body, restricted to the channel of each
    iteration: that channel's border, then its interior rows. The copy runs on the thread that
    reads it, right before it does, and in the same parallel region."""
    body = loop.regions[0].block
    zero = arith.ConstantOp(IntegerAttr(0, INDEX))
    fixed = [zero.result, loop_var(loop)]
    label = pad.block.attr("label")
    boxes = border_boxes(list(pad.padded.type.shape), pad.low, pad.high)
    ops = [zero, *_border_nest(pad, boxes, 2, f"{label}_border", fixed), *_interior_copy(pad, f"{label}_interior", "serial", fixed)]
    if body.first_op is None:
        body.add_ops(ops)
    else:
        body.insert_ops_before(ops, body.first_op)
    top = top_level(pad.block)
    top.parent_block().erase_op(top)


def absorb_pads(fn: func.FuncOp) -> int:
    count = 0
    for top in list(fn.body.block.ops):
        if top.name != "loop.for":
            continue
        blocks = blocks_under(top)
        pad = match_pad(blocks[0]) if len(blocks) == 1 else None
        if pad is None:
            continue
        if absorbable(pad, fn):
            absorb(pad)
            count += 1
        elif (reader := channel_loop(pad, fn)) is not None:
            pad_per_channel(pad, reader)
        elif len(pad.source.type.shape) >= 2:
            split_pad(pad)
    return count


@dataclass(frozen=True)
class AbsorbPads(ModulePass):
    """Producers write padded buffers' interiors directly; the pad nests keep only the border."""

    name = "absorb-pads"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            if isinstance(fn, func.FuncOp) and fn.regions:
                absorb_pads(fn)


__all__ = ["AbsorbPads", "PadCopy", "absorb_pads", "border_boxes", "match_pad"]
