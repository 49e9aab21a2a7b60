"""`register-accumulators`: a register tile's accumulators kept in a local buffer across its
reduction loops, so the code generator holds them in registers without having to prove it.

A scheduled contraction ends in

    loop.for %c ... {kind = "reduction"}          R: reduction loops
      loop.for %m 0..6 {unroll = 6}               S: the tile, static extents
        loop.for %v 0..16 {vectorize = true}
          loop.block ... { out[..] = out[..] + a * b }

Every reduction step loads and stores the same 6 x 16 elements of `out`. LLVM's LICM keeps
them in registers only when alias analysis proves the 12 vector addresses pairwise apart;
with a conv's index arithmetic (rows of 6 channels, each `((b*C + o)*H + y)*W + x`) it
stopped proving it above 8 accumulators and the tile ran 2.5x slower from memory. This pass
makes the promotion explicit, as TVM's `cache_write(..., "local")` + `compute_at` would:

    %acc = loop.alloc {scope = "local"} : memref<6x16xf32>
    <S copy>  acc[m, v] = out[..]                  (the tile's current values)
    loop.for %c ... { <S> acc[m, v] = acc[m, v] + a * b }
    <S copy>  out[..] = acc[m, v]

When the nest right before the reductions initializes exactly the tile (decompose-reduction's
init: `out[..] = 0` over loops of the tile's extents, at the same index) it writes `acc`
instead, and the copy in is left out.

After unrolling and vectorizing, every `acc` access has constant indices, and LLVM's SROA turns
the stack buffer into SSA values (phis around the reduction loops) before any alias question.

Legality: the block is alone in the S loops; every access to `out` in it uses one index tuple
that does not depend on the reduction loops and is affine in the S variables, each position
holding at most one of them and each of them appearing (alone, or as the pair `x floordiv c,
x rem c` that fused loops bind), so distinct tile elements are distinct elements of `out`.
Anything else is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects.loop import REDUCE, SPATIAL, Loop
from lamina.ir.free_values import free_values
from lamina.ir.types import BufferType, numpy_dtype
from lamina.passes.schedule.nest import enclosing_loops, loop_var, static_value, suffix_labels, terminate
from lamina.targets.host import host_target

INDEX = IndexType()
SUFFIX_IN, SUFFIX_OUT = "_acc_in", "_acc_out"


@dataclass
class Nest:
    reductions: list[Operation]  # outermost first
    tile: list[Operation]  # the static spatial loops inside them, outermost first
    block: Operation


def _is_index_math(op: Operation) -> bool:
    return op.name.startswith("arith.") and not op.regions


def _chain(outer: Operation) -> Nest | None:
    """The nest under a reduction loop when it is reductions, then static tile loops from 0,
    then one block."""
    found = _loop_chain(outer)
    if found is None:
        return None
    loops, block = found
    kinds = [l.attr("kind") == "reduction" for l in loops]
    split = kinds.index(False) if False in kinds else len(kinds)
    if split == len(loops) or any(kinds[split:]):
        return None
    tile = loops[split:]
    if any(static_value(l.operands[0]) != 0 or static_value(l.operands[1]) is None or l.attr("step") != 1 for l in tile):
        return None
    return Nest(loops[:split], tile, block)


class IndexForms:
    """Index values of the block as affine forms over the nest's loop variables."""

    def __init__(self, nest: Nest):
        self.nest = nest
        self.top = nest.reductions[0]
        self.bindings = dict(zip(nest.block.regions[1].block.args, nest.block.operands))
        self.loop_vars = {loop_var(l) for l in nest.reductions + nest.tile}

    def origin(self, value: SSAValue) -> SSAValue:
        return self.bindings.get(value, value)

    def form(self, value: SSAValue) -> dict[SSAValue, int] | None:
        """{loop var: coefficient}, the rest of value not depending on any loop of the nest;
        None where value is not of that form."""
        value = self.origin(value)
        if value in self.loop_vars:
            return {value: 1}
        owner = value.owner
        if not isinstance(owner, Operation) or not self.top.is_ancestor(owner):
            return {}
        if owner.name in ("arith.addi", "arith.subi"):
            a, b = (self.form(o) for o in owner.operands)
            if a is None or b is None:
                return None
            sign = 1 if owner.name == "arith.addi" else -1
            total = dict(a)
            for var, coef in b.items():
                total[var] = total.get(var, 0) + sign * coef
            return {v: c for v, c in total.items() if c}
        if owner.name == "arith.muli":
            a, b = (self.form(o) for o in owner.operands)
            if a is None or b is None or (a and b):
                return None
            if not a and not b:
                return {}
            scale = static_value(self.origin(owner.operands[1] if a else owner.operands[0]))
            if scale is None:
                return None
            return {v: c * scale for v, c in (a or b).items() if c * scale}
        if owner.name == "arith.constant":
            return {}
        return None if any(self.form(o) != {} for o in owner.operands) else {}


def _divided(forms: IndexForms, value: SSAValue) -> tuple[str, SSAValue, int] | None:
    """("div" | "rem", x, c) when value is x floordiv c or x rem c for a constant c > 0."""
    owner = forms.origin(value).owner
    if isinstance(owner, Operation) and owner.name in ("arith.floordivsi", "arith.remsi"):
        c = static_value(owner.operands[1])
        if c is not None and c > 0:
            return ("div" if owner.name == "arith.floordivsi" else "rem"), owner.operands[0], c
    return None


def _tile_indices(forms: IndexForms, indices: list[SSAValue]) -> bool:
    """Whether the index tuple is fixed across the reductions and one-to-one over the tile:
    each tile variable sets one position (an affine term), or a pair of positions `x floordiv
    c, x rem c` (fused loops' iterators) with x affine in it; no position mixes two of them."""
    tile_vars = [loop_var(l) for l in forms.nest.tile]
    seen: list[SSAValue] = []
    pairs: dict[tuple[SSAValue, int], set[str]] = {}
    for index in indices:
        form = forms.form(index)
        if form is None:
            divided = _divided(forms, index)
            if divided is None:
                return False
            kind, x, c = divided
            pairs.setdefault((x, c), set()).add(kind)
            continue
        if any(v not in tile_vars for v in form) or len(form) > 1:
            return False
        seen += list(form)
    for (x, _), kinds in pairs.items():
        form = forms.form(x)
        if kinds != {"div", "rem"} or form is None or len(form) != 1 or any(v not in tile_vars for v in form):
            return False
        seen += list(form)
    return sorted(map(id, seen)) == sorted(map(id, tile_vars))


def _accesses(block: Block, buffer: SSAValue) -> list[Operation]:
    return [op for op in block.walk() if (op.name == "loop.load" and op.operands[0] is buffer) or (op.name == "loop.store" and op.operands[1] is buffer)]


def _indices(op: Operation) -> list[SSAValue]:
    return list(op.operands[1:] if op.name == "loop.load" else op.operands[2:])


def candidates(nest: Nest) -> list[SSAValue]:
    """The buffers of the block that can live in a local tile across the reductions."""
    block = nest.block
    if any(o.name != "loop.yield" for o in block.regions[0].block.ops):
        return []
    body = block.regions[1].block
    forms = IndexForms(nest)
    found = []
    for buffer in dict.fromkeys(op.operands[1] for op in body.ops if op.name == "loop.store"):
        if not isinstance(buffer.type, BufferType):
            continue
        accesses = _accesses(body, buffer)
        first = _indices(accesses[0])
        if any(_indices(a) != first for a in accesses) or not _tile_indices(forms, first):
            continue
        found.append(buffer)
    return found


def _hoistable(value: SSAValue, top: Operation) -> bool:
    """Whether value is defined outside `top`, is one of its loop variables, or is index
    arithmetic over such values."""
    owner = value.owner
    if not isinstance(owner, Operation):
        return True  # a loop variable (inside top: a reduction's, set to 0) or an outer one
    return not top.is_ancestor(owner) or (_is_index_math(owner) and all(_hoistable(o, top) for o in owner.operands))


def _hoisted(value: SSAValue, nest: Nest, zeros: dict[SSAValue, SSAValue], at: InsertPoint, done: dict[SSAValue, SSAValue]) -> SSAValue:
    """`value` (defined inside the reductions, outside the tile) recomputed before them with
    every reduction variable at 0."""
    if value in zeros:
        return zeros[value]
    if value in done:
        return done[value]
    owner = value.owner
    if not isinstance(owner, Operation) or not nest.reductions[0].is_ancestor(owner):
        return value
    operands = [_hoisted(o, nest, zeros, at, done) for o in owner.operands]
    clone = owner.clone(value_mapper=dict(zip(owner.operands, operands)))
    Rewriter.insert_op(clone, at)
    for old, new in zip(owner.results, clone.results):
        done[old] = new
    return done[value]


def top_level_in(op: Operation, block: Block) -> Operation:
    """The ancestor of op (or op) directly in `block`."""
    while op.parent_block() is not block:
        op = op.parent_op()
    return op


def _copy_tile(nest: Nest, mapper: dict[SSAValue, SSAValue], buffers: dict[SSAValue, SSAValue], into_tile: bool, suffix: str) -> Operation:
    """The tile loops again, their block replaced by a copy between each buffer and its local
    tile (buffer -> tile when into_tile)."""
    copy = nest.tile[0].clone(value_mapper=dict(mapper))
    loops = [copy]
    while len(loops) < len(nest.tile):
        loops.append(next(o for o in loops[-1].regions[0].block.ops if o.name == "loop.for"))
    old_block = next(o for o in loops[-1].regions[0].block.ops if o.name == "loop.block")
    kinds = old_block.attr("iter_kinds")
    spatial = [k for k, c in enumerate(kinds) if c != REDUCE]
    init, body = Block(arg_types=[INDEX] * len(spatial)), Block(arg_types=[INDEX] * len(spatial))
    terminate(init)
    attrs = {"label": nest.block.attr("label"), "iter_kinds": SPATIAL * len(spatial), "domain": [old_block.attr("domain")[k] for k in spatial]}
    op = Loop["block"].build([old_block.operands[k] for k in spatial], attrs, [], [Region(init), Region(body)])
    old_body = old_block.regions[1].block
    mapping: dict[SSAValue, SSAValue] = {old_body.args[k]: arg for k, arg in zip(spatial, body.args)}
    tile_vars = [loop_var(l) for l in loops]

    def rebuilt(value: SSAValue) -> SSAValue:
        if value in mapping:
            return mapping[value]
        owner = value.owner
        if not isinstance(owner, Operation) or owner.parent_block() is not old_body:
            return value
        clone = owner.clone(value_mapper={o: rebuilt(o) for o in owner.operands})
        body.add_op(clone)
        for old, new in zip(owner.results, clone.results):
            mapping[old] = new
        return mapping[value]

    for buffer, tile in buffers.items():
        access = next(a for a in _accesses(old_body, buffer))
        indices = [rebuilt(i) for i in _indices(access)]
        source, target = ((buffer, indices), (tile, tile_vars)) if into_tile else ((tile, tile_vars), (buffer, indices))
        load = Loop["load"].build([source[0], *source[1]])
        body.add_op(load)
        body.add_op(Loop["store"].build([load.results[0], target[0], *target[1]], result_types=[]))
    terminate(body)
    Rewriter.replace_op(old_block, op, [])
    suffix_labels(copy, suffix)
    return copy


def _loop_chain(outer: Operation) -> tuple[list[Operation], Operation] | None:
    """The loops of a perfect nest and its one block (index arithmetic aside)."""
    loops, current = [outer], outer
    while True:
        inner = [o for o in current.regions[0].block.ops if o.name != "loop.yield" and not _is_index_math(o)]
        if len(inner) != 1:
            return None
        (nxt,) = inner
        if nxt.name == "loop.block":
            return loops, nxt
        if nxt.name != "loop.for":
            return None
        loops.append(nxt)
        current = nxt


def _same_value(a: SSAValue, b: SSAValue, init: Operation, var_map: dict[SSAValue, SSAValue], bindings: dict[SSAValue, SSAValue], forms: IndexForms) -> bool:
    """Whether index `a` of the init nest computes what `b` of the tile computes, its loop
    variables standing for the tile's (structurally: same ops, same constants)."""
    a, b = bindings.get(a, a), forms.origin(b)
    if a in var_map:
        return var_map[a] is b
    owner_a, owner_b = a.owner, b.owner
    inside = isinstance(owner_a, Operation) and init.is_ancestor(owner_a)
    if not inside:
        return a is b and not (isinstance(owner_a, Block) and init.is_ancestor(owner_a.parent_op()))
    if not isinstance(owner_b, Operation) or owner_a.name != owner_b.name or len(owner_a.operands) != len(owner_b.operands):
        return False
    if owner_a.properties != owner_b.properties:
        return False
    return all(_same_value(x, y, init, var_map, bindings, forms) for x, y in zip(owner_a.operands, owner_b.operands))


def _init_store(nest: Nest, buffer: SSAValue) -> Operation | None:
    """The store of the nest right before the reductions that initializes exactly the tile's
    elements of `buffer` (what decompose-reduction leaves there): loops of the tile's extents,
    one block storing a value computed without loads at the accumulator's index."""
    prev = nest.reductions[0].prev_op
    while prev is not None and _is_index_math(prev):
        prev = prev.prev_op
    found = _loop_chain(prev) if prev is not None and prev.name == "loop.for" else None
    if found is None:
        return None
    loops, block = found
    if len(loops) != len(nest.tile) or any(
        static_value(a.operands[0]) != 0 or static_value(a.operands[1]) != static_value(b.operands[1]) or a.attr("step") != 1
        for a, b in zip(loops, nest.tile)
    ):
        return None
    body = block.regions[1].block
    if any(o.name != "loop.yield" for o in block.regions[0].block.ops):
        return None
    stores = [o for o in body.ops if o.name == "loop.store"]
    if len(stores) != 1 or stores[0].operands[1] is not buffer or any(o.name == "loop.load" or o.regions for o in body.walk() if o is not body.parent_op()):
        return None
    var_map = {loop_var(a): loop_var(b) for a, b in zip(loops, nest.tile)}
    bindings = dict(zip(body.args, block.operands))
    forms = IndexForms(nest)
    wanted = _indices(_accesses(nest.block.regions[1].block, buffer)[0])
    if not all(_same_value(x, y, prev, var_map, bindings, forms) for x, y in zip(_indices(stores[0]), wanted)):
        return None
    return stores[0]


def promote(nest: Nest, max_tile_bytes: int) -> int:
    buffers = candidates(nest)
    if not buffers:
        return 0
    trips = [static_value(l.operands[1]) for l in nest.tile]
    # A tile larger than the vector registers (16 of 32 bytes on AVX2, 32 of 64 on AVX-512)
    # would spill wherever it lives.
    if prod(trips) * sum(numpy_dtype(b.type.element_type).itemsize for b in buffers) > max_tile_bytes:
        return 0
    free = free_values(nest.tile[0])
    if not all(_hoistable(v, nest.reductions[0]) for v in free):
        return 0
    top = nest.reductions[0]
    before = InsertPoint.before(top)
    zero = arith.ConstantOp(IntegerAttr(0, INDEX))
    Rewriter.insert_op(zero, before)
    zeros = {loop_var(l): zero.result for l in nest.reductions}
    mapper: dict[SSAValue, SSAValue] = dict(zeros)
    hoisted: dict[SSAValue, SSAValue] = {}
    for value in free:
        mapper[value] = _hoisted(value, nest, zeros, before, hoisted)
    inits = {buffer: _init_store(nest, buffer) for buffer in buffers}
    tiles: dict[SSAValue, SSAValue] = {}
    for buffer in buffers:
        t: BufferType = buffer.type
        alloc = Loop["alloc"].build([], {"scope": "local"}, [BufferType.of(trips, t.element_type)])
        init = inits[buffer]
        Rewriter.insert_op(alloc, before if init is None else InsertPoint.before(top_level_in(init, top.parent_block())))
        tiles[buffer] = alloc.results[0]
        if init is not None:
            # The init nest writes the local tile instead; copying the buffer in is not needed.
            init_loops = enclosing_loops(init)[-len(nest.tile) :]
            init.operands = [init.operands[0], alloc.results[0], *(loop_var(l) for l in init_loops)]
            for init_loop, tile_loop in zip(init_loops, nest.tile):
                if tile_loop.attr("unroll"):
                    init_loop.properties["unroll"] = tile_loop.properties["unroll"]
    loaded = {b: t for b, t in tiles.items() if inits[b] is None}
    if loaded:
        Rewriter.insert_op(_copy_tile(nest, mapper, loaded, True, SUFFIX_IN), before)
    Rewriter.insert_op(_copy_tile(nest, mapper, tiles, False, SUFFIX_OUT), InsertPoint.after(top))
    tile_vars = [loop_var(l) for l in nest.tile]
    for buffer, tile in tiles.items():
        for access in _accesses(nest.block.regions[1].block, buffer):
            if access.name == "loop.load":
                access.operands = [tile, *tile_vars]
            else:
                access.operands = [access.operands[0], tile, *tile_vars]
    return len(tiles)


def promote_in(root: Block, max_tile_bytes: int) -> int:
    """Promote the accumulators of every outermost reduction loop under `root`."""
    count = 0
    for op in list(root.ops):
        if op.name == "loop.for" and op.attr("kind") == "reduction":
            nest = _chain(op)
            if nest is not None:
                count += promote(nest, max_tile_bytes)
                continue
        for region in op.regions:
            for block in region.blocks:
                count += promote_in(block, max_tile_bytes)
    return count


@dataclass(frozen=True)
class RegisterAccumulators(ModulePass):
    """Keep a register tile's accumulators in a local buffer across its reduction loops."""

    name = "register-accumulators"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        max_tile_bytes = host_target().vector_register_bytes
        for fn in op.ops:
            if isinstance(fn, func.FuncOp) and fn.regions:
                promote_in(fn.body.block, max_tile_bytes)


__all__ = ["RegisterAccumulators", "promote_in"]
