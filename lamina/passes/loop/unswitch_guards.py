"""`unswitch-guards`: the bound guards of non-dividing splits hoisted out of a loop body.

A split whose factor does not divide the extent (a symbolic batch split by 6, 512 rows in
tiles of 6) guards its body: `loop.if (io * 6 + ii < n)`. Inside a register tile that test
sits in the unrolled, vectorized core, so every iteration pays for it and the accumulators
cannot stay in registers across it. Every tile but the last one passes all its tests, though.

This pass versions the body of the outermost loop H over which a guard can be decided at
once: the guard's condition is affine in the variables of loops inside H (with constant
bounds) plus terms fixed for an iteration of H. At the start of H's body it tests the guard
at the extremes of those variables; when every guard holds at its extreme, a copy of the body
with those guards removed runs, otherwise the original body:

    loop.for %io ... {                    loop.for %io ... {
      loop.for %k ... {                     %all = io * 6 + 5 < n
        loop.for %ii 0..6 {        ==>      loop.if %all { <body, no guard> }
          loop.if (io*6+ii < n) {...}       loop.if !%all { <body, ii < min(6, n - io*6)> }
                                          }

In the partial tile's copy a guard on one split variable becomes that loop's bound, and the
loop (no longer unrolled) moves outside the reduction loops right around it, so each remaining
row keeps its accumulators in registers (`tighten`); other guards stay as they were. The
partial tile of an unrolled rows loop also gets a copy per row count of 2 or more, unrolled
inside the reduction (`version_by_rows`): every count when the rows left depend on a symbolic
size (a batch), and the counts it takes when they follow from static extents (128 rows in
tiles of 6: one copy, for 2 rows).

Conditions handled: `cmpi slt|sle|sgt|sge` of affine index expressions (add, sub, multiply by
a constant) and `andi` of such tests. A guard that is not of that form stays where it is.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, IntegerType, ModuleOp
from xdsl.ir import Block, BlockArgument, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.transforms.dead_code_elimination import region_dce

from lamina.dialects.loop import Loop
from lamina.ir.arith_predicates import CMPI_PREDICATES
from lamina.passes.schedule.loops import _permute as permute_headers
from lamina.passes.schedule.nest import static_value, suffix_labels

INDEX = IndexType()
I1 = IntegerType(1)
# Versions made per top-level nest: each one copies a loop body, so the code size is bounded.
MAX_VERSIONS = 4
# The widest range a guard's expression may take inside the versioned loop (a tile's edge).
MAX_SPAN = 64
# The widest unrolled rows loop whose partial tile gets one version per row count.
MAX_ROW_VERSIONS = 8
# The suffix of the labels in a guard-free copy (labels name one loop or block each).
COPY_SUFFIX = "_full"


@dataclass
class Affine:
    """const + sum(coef * var) + sum(coef * atom): vars are variables of loops inside H with
    constant bounds, atoms are values fixed for one iteration of H."""

    const: int = 0
    vars: dict[SSAValue, int] = field(default_factory=dict)
    atoms: dict[SSAValue, int] = field(default_factory=dict)

    def scaled(self, k: int) -> Affine:
        return Affine(self.const * k, {v: c * k for v, c in self.vars.items()}, {a: c * k for a, c in self.atoms.items()})

    def plus(self, other: Affine) -> Affine:
        out = Affine(self.const + other.const, dict(self.vars), dict(self.atoms))
        for v, c in other.vars.items():
            out.vars[v] = out.vars.get(v, 0) + c
        for a, c in other.atoms.items():
            out.atoms[a] = out.atoms.get(a, 0) + c
        return out


def _static_bounds(loop: Operation) -> tuple[int, int] | None:
    lower, upper = (static_value(o) for o in loop.operands)
    if lower is None or upper is None or upper <= lower or loop.attr("step") != 1:
        return None
    return lower, upper


class Hoisting:
    """What is fixed for one iteration of loop H, and affine forms relative to it."""

    def __init__(self, host: Operation):
        self.host = host
        self.body = host.regions[0].block
        self.ranges: dict[SSAValue, tuple[int, int]] = {}
        self.blocked: set[SSAValue] = set()
        for op in self.body.walk():
            if op.name == "loop.for":
                bounds = _static_bounds(op)
                var = op.regions[0].block.args[0]
                if bounds is None:
                    self.blocked.add(var)
                else:
                    self.ranges[var] = bounds

    def inside(self, value: SSAValue) -> bool:
        """Whether value is defined within H's body (not H's own variable)."""
        if isinstance(value, BlockArgument):
            parent = value.block.parent_op()
            return parent is not self.host and parent is not None and self.host.is_ancestor(parent)
        owner = value.owner
        return isinstance(owner, Operation) and owner is not self.host and self.host.is_ancestor(owner)

    def invariant(self, value: SSAValue, depth: int = 0) -> bool:
        """Defined outside H's body, or computed there by arith from such values only."""
        if not self.inside(value):
            return True
        owner = value.owner
        if depth > 32 or not isinstance(owner, Operation) or not owner.name.startswith("arith.") or owner.regions:
            return False
        return all(self.invariant(o, depth + 1) for o in owner.operands)

    def affine(self, value: SSAValue, depth: int = 0) -> Affine | None:
        c = static_value(value)
        if c is not None:
            return Affine(c)
        if value in self.ranges:
            return Affine(vars={value: 1})
        if value in self.blocked or depth > 32:
            return None
        owner = value.owner
        if isinstance(owner, (arith.AddiOp, arith.SubiOp)):
            a, b = (self.affine(o, depth + 1) for o in owner.operands)
            if a is not None and b is not None:
                return a.plus(b if isinstance(owner, arith.AddiOp) else b.scaled(-1))
        if isinstance(owner, arith.MuliOp):
            for x, k in ((owner.lhs, owner.rhs), (owner.rhs, owner.lhs)):
                factor = static_value(k)
                form = self.affine(x, depth + 1) if factor is not None else None
                if form is not None:
                    return form.scaled(factor)
        # Terms fixed for an iteration of H, taken whole: the same value wherever it appears.
        return Affine(atoms={value: 1}) if self.invariant(value) else None

    def tests(self, cond: SSAValue) -> list[tuple[Affine, str]] | None:
        """The condition as a conjunction of (expression, 'max<0' | 'max<=0' | 'min>0' | 'min>=0')."""
        owner = cond.owner
        if isinstance(owner, arith.AndIOp):
            a, b = (self.tests(o) for o in owner.operands)
            return None if a is None or b is None else a + b
        if not isinstance(owner, arith.CmpiOp) or not isinstance(owner.lhs.type, IndexType):
            return None
        predicate = CMPI_PREDICATES[owner.predicate.value.data]
        need = {"slt": "max<0", "sle": "max<=0", "sgt": "min>0", "sge": "min>=0"}.get(predicate)
        lhs, rhs = self.affine(owner.lhs), self.affine(owner.rhs)
        if need is None or lhs is None or rhs is None:
            return None
        return [(lhs.plus(rhs.scaled(-1)), need)]


def _span(form: Affine, hoisting: Hoisting) -> int:
    return sum(abs(c) * (hoisting.ranges[v][1] - 1 - hoisting.ranges[v][0]) for v, c in form.vars.items())


def _guard_tests(guard: Operation) -> tuple[Operation, list[tuple[Affine, str]]] | None:
    """The outermost enclosing loop over which the guard is decided at once, and its tests.
    The test must depend on the iteration of that loop (else it is a constant, all or
    nothing) and vary little inside it: a split's guard fails only near the edge, so the
    guard-free copy runs for all tiles but the last. At least one loop lies between that loop
    and the guard."""
    loops = []
    parent = guard.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        if parent.name == "loop.block":
            return None  # inside a block's body the iterators, not loops, vary
        if parent.name == "loop.for":
            loops.append(parent)
        parent = parent.parent_op()
    # Versioning the loop right around the guard would test the same thing, as often.
    for host in reversed(loops[1:]):
        hoisting = Hoisting(host)
        tests = hoisting.tests(guard.operands[0])
        if tests is not None and all(form.atoms and _span(form, hoisting) <= MAX_SPAN for form, _ in tests):
            return host, tests
    return None


class Emitter:
    """Index arithmetic at the start of H's body; invariant values computed inside H are
    recomputed there (their chains use only values from outside)."""

    def __init__(self, host: Operation):
        self.block = host.regions[0].block
        self.anchor = self.block.first_op
        self.hoisting = Hoisting(host)
        self.copies: dict[SSAValue, SSAValue] = {}

    def add(self, op: Operation) -> SSAValue:
        self.block.insert_op_before(op, self.anchor)
        return op.results[0]

    def const(self, value: int, type_=INDEX) -> SSAValue:
        return self.add(arith.ConstantOp(IntegerAttr(value, type_)))

    def available(self, value: SSAValue) -> SSAValue:
        if not self.hoisting.inside(value):
            return value
        if value not in self.copies:
            owner = value.owner
            operands = [self.available(o) for o in owner.operands]
            clone = owner.clone_without_regions(value_mapper=dict(zip(owner.operands, operands)))
            self.copies[value] = self.add(clone)
        return self.copies[value]

    def extreme_constant(self, form: Affine, want_max: bool) -> int:
        """The constant part plus the inner variables at their extremes."""
        total = form.const
        for var, coef in form.vars.items():
            lo, hi = self.hoisting.ranges[var]
            total += coef * ((hi - 1) if (coef > 0) == want_max else lo)
        return total

    def extreme(self, form: Affine, want_max: bool) -> SSAValue:
        value = self.const(self.extreme_constant(form, want_max))
        for atom, coef in form.atoms.items():
            if coef == 0:
                continue
            term = self.available(atom)
            if coef != 1:
                term = self.add(arith.MuliOp(term, self.const(coef)))
            value = self.add(arith.AddiOp(value, term))
        return value

    def holds(self, tests: list[tuple[Affine, str]]) -> SSAValue:
        result = None
        distinct = {}
        for form, need in tests:  # the init and the update of a block share their guard
            bound = self.extreme_constant(form, need.startswith("max"))
            key = (need, bound, tuple(sorted((id(a), c) for a, c in form.atoms.items() if c)))
            distinct.setdefault(key, (form, need))
        for form, need in distinct.values():
            value = self.extreme(form, need.startswith("max"))
            predicate = {"max<0": "slt", "max<=0": "sle", "min>0": "sgt", "min>=0": "sge"}[need]
            test = self.add(arith.CmpiOp(value, self.const(0), predicate))
            result = test if result is None else self.add(arith.AndIOp(result, test))
        return result


def _body_ops(block: Block) -> list[Operation]:
    return [op for op in block.ops if op.name != "loop.yield"]


def _if(cond: SSAValue, ops: list[Operation]) -> Operation:
    region = Block()
    for op in ops:
        region.add_op(op)
    region.add_op(Loop["yield"].build([], result_types=[]))
    return Loop["if"].build([cond], {}, [], [Region(region)])


def _inline_guard(guard: Operation) -> None:
    block = guard.parent_block()
    for op in _body_ops(guard.regions[0].block):
        op.detach()
        block.insert_op_before(op, guard)
    guard.detach()
    guard.erase()


def version(host: Operation, guarded: list[tuple[Operation, list[tuple[Affine, str]]]]) -> list[Operation]:
    """H's body becomes: if all guards hold, a copy without them; else the body with each
    guard turned into the bounds of its loop where it can be (`tighten`), as it was otherwise."""
    emit = Emitter(host)
    originals = _body_ops(emit.block)  # before the condition's arithmetic goes in
    all_hold = emit.holds([test for _, tests in guarded for test in tests])
    not_all = emit.add(arith.XOrIOp(all_hold, emit.const(1, I1)))
    mapping: dict[SSAValue, SSAValue] = {}
    copies = [op.clone(value_mapper=mapping) for op in originals]
    in_copy = {id(o): c for orig, copy in zip(originals, copies) for o, c in zip(orig.walk(), copy.walk())}
    for op in originals:
        op.detach()
    terminator = emit.block.last_op
    versions = [_if(all_hold, copies), _if(not_all, originals)]
    for op in versions:
        emit.block.insert_op_before(op, terminator)
    emit.anchor = versions[0]  # the partial tile's bounds go before both versions
    for guard, tests in guarded:
        _inline_guard(in_copy[id(guard)])
        tighten(emit, guard, tests)
    for copy in copies:
        suffix_labels(copy, COPY_SUFFIX)
    return versions


def _guarded_loop(guard: Operation, var: SSAValue) -> Operation | None:
    """The loop of `var` when the path from it down to the guard holds nothing else: each loop
    body on the way is the next loop (or the guard) plus index arithmetic."""
    loop = var.block.parent_op()
    node = loop
    while node is not guard:
        rest = [op for op in _body_ops(node.regions[0].block) if not op.name.startswith("arith.")]
        if len(rest) != 1 or rest[0].name not in ("loop.for", "loop.if"):
            return None
        node = rest[0]
        if node.name == "loop.if" and node is not guard:
            return None
    return loop


def tighten(emit: Emitter, guard: Operation, tests: list[tuple[Affine, str]]) -> bool:
    """In the partial tile, `if (rest + v < 0)` around everything under v's loop becomes that
    loop's bound (v < -rest), not unrolled, moved outside the reduction loops right around it:
    a 6-row tile with 1 valid row then runs 1 row with its accumulators in registers, instead
    of 6 guarded rows with theirs in memory."""
    variables = {v for form, _ in tests for v in form.vars}
    if len(variables) != 1 or any(form.vars[v] != 1 for form, _ in tests for v in form.vars):
        return False
    (var,) = variables
    loop = _guarded_loop(guard, var)
    if loop is None:
        return False
    lower, upper = loop.operands
    for form, need in tests:
        rest = Affine(form.const, {}, form.atoms)
        # rest + v < 0 (or <= 0): v < -rest (+1); rest + v >= 0 (or > 0): v >= -rest (+1)
        bound = emit.extreme(rest.scaled(-1).plus(Affine(1 if need in ("max<=0", "min>0") else 0)), True)
        if need.startswith("max"):
            upper = emit.add(arith.MinSIOp(upper, bound))
        else:
            lower = emit.add(arith.MaxSIOp(lower, bound))
    unrolled = loop.properties.pop("unroll", None)
    static = _static_bounds(loop)
    counts: list[int] = []
    uncopied_counts = True  # whether a count without its own copy may occur
    if unrolled is not None and static is not None and static[0] == 0 and 3 <= static[1] <= MAX_ROW_VERSIONS and lower is loop.operands[0]:
        if any(_depends_on_size(atom) for form, _ in tests for atom in form.atoms):
            counts = list(range(2, static[1]))  # known only at run time: every count from 2
        else:
            partial = _static_row_counts(tests, static[1])
            if partial is not None:
                counts = [c for c in partial if c >= 2]
                uncopied_counts = any(c < 2 for c in partial)
    label = loop.attr("label")
    loop.operands = [lower, upper]
    _inline_guard(guard)
    header = _hoist_over_reductions(loop)
    if counts:
        version_by_rows(emit, header, label, upper, counts, unrolled, uncopied_counts)
    return True


# The most combinations of outer loop values a partial tile's row count is evaluated at.
MAX_COUNT_SAMPLES = 4096


def _loop_values(value: SSAValue) -> range | None:
    """The values a loop variable of static bounds takes."""
    if not isinstance(value, BlockArgument):
        return None
    loop = value.block.parent_op()
    if loop is None or loop.name != "loop.for":
        return None
    lower, upper = (static_value(o) for o in loop.operands)
    return None if lower is None or upper is None else range(lower, upper, loop.attr("step"))


def _static_row_counts(tests: list[tuple[Affine, str]], full: int) -> list[int] | None:
    """The row counts below `full` that the partial tile takes, when every term of its bound
    is a loop variable of static bounds (a static extent: 128 rows in tiles of 6 leave one
    tile of 2, which gets the one copy it needs); None when the terms are not known."""
    atoms = list(dict.fromkeys(a for form, _ in tests for a in form.atoms))
    ranges = [_loop_values(a) for a in atoms]
    if any(r is None for r in ranges) or math.prod(len(r) for r in ranges) > MAX_COUNT_SAMPLES:
        return None
    counts = set()
    for values in itertools.product(*ranges):
        at = dict(zip(atoms, values))
        count = full
        for form, need in tests:
            rest = form.const + sum(c * at[a] for a, c in form.atoms.items())
            count = min(count, -rest + (1 if need == "max<=0" else 0))
        counts.add(max(count, 0))
    return sorted(c for c in counts if c < full)


def _depends_on_size(value: SSAValue, depth: int = 0) -> bool:
    """Whether value is computed from a symbolic size: the row count of the partial tile is
    then known only at run time."""
    owner = value.owner
    if not isinstance(owner, Operation) or depth > 32:
        return False
    return owner.name == "loop.size" or (owner.name.startswith("arith.") and any(_depends_on_size(o, depth + 1) for o in owner.operands))


def version_by_rows(emit: Emitter, subtree: Operation, label: str, count: SSAValue, counts: list[int], unrolled, others_occur: bool = True) -> None:
    """The partial tile of an unrolled rows loop, once per row count: `subtree` (the rows loop
    hoisted over the reductions) runs under `count == r` for each r of `counts` (2 or more: one
    row runs as fast in the original) as a copy whose rows loop is 0..r, unrolled again and
    back inside the reductions, so r rows keep r rows of accumulators (2r FMA chains) instead
    of running one row at a time (2 chains, latency-bound: a batch of 64 in tiles of 6 spent a
    fifth of its GEMM time on its last 4 rows). The original stays for any other count, unless
    `others_occur` is False (static extents whose every partial count has its copy)."""
    block = subtree.parent_block()
    others = None
    for r in counts:
        copy = subtree.clone()
        suffix_labels(copy, f"_rows{r}")
        rows = next(op for op in copy.walk() if op.name == "loop.for" and op.attr("label") == f"{label}_rows{r}")
        rows.operands = [rows.operands[0], emit.const(r)]
        rows.properties["unroll"] = type(unrolled)(r, unrolled.type)
        _sink_under_reductions(rows)
        block.insert_op_before(_if(emit.add(arith.CmpiOp(count, emit.const(r), "eq")), [copy]), subtree)
        if others_occur:
            outside = emit.add(arith.CmpiOp(count, emit.const(r), "ne"))
            others = outside if others is None else emit.add(arith.AndIOp(others, outside))
    if not others_occur:
        subtree.detach()
        subtree.erase()
        return
    after = subtree.next_op  # a body ends in its yield: there is always one
    subtree.detach()
    block.insert_op_before(_if(others, [subtree]), after)


def _hoist_over_reductions(loop: Operation) -> Operation:
    """Swap the loop with each reduction loop right around it whose body is only this loop, so
    the accumulators of one row stay in registers across the whole reduction. Returns the op
    that now holds the loop's header (the outermost of those)."""
    while True:
        parent = loop.parent_op()
        if parent is None or parent.name != "loop.for" or parent.attr("kind") != "reduction":
            return loop
        if _body_ops(parent.regions[0].block) != [loop] or parent.attr("step") != 1 or loop.attr("step") != 1:
            return loop
        permute_headers([parent, loop], [1, 0])
        # The headers moved, not the ops: the same row loop is now the outer op.
        loop = parent


def _sink_under_reductions(loop: Operation) -> None:
    """Undo _hoist_over_reductions: the loop's header goes back inside the reduction headers
    that it holds, one loop each, down to the first loop that is not a reduction."""
    while True:
        body = _body_ops(loop.regions[0].block)
        if len(body) != 1 or body[0].name != "loop.for" or body[0].attr("kind") != "reduction" or body[0].attr("step") != 1:
            return
        permute_headers([loop, body[0]], [1, 0])
        loop = body[0]


def unswitch_nest(nest: Operation) -> int:
    done: set[Operation] = set()
    versions = 0
    while versions < MAX_VERSIONS:
        pending = [op for op in nest.walk() if op.name == "loop.if" and op not in done]
        chosen = None
        for guard in pending:
            found = _guard_tests(guard)
            if found is None:
                done.add(guard)
                continue
            chosen = (guard, *found)
            break
        if chosen is None:
            return versions
        guard, host, tests = chosen
        group = [(guard, tests)]
        for other in pending:
            if other is guard or other in done or not host.is_ancestor(other):
                continue
            found = _guard_tests(other)
            if found is not None and found[0] is host:
                group.append((other, found[1]))
        done.update(version(host, group))
        done.update(g for g, _ in group)
        versions += 1
    return versions


@dataclass(frozen=True)
class UnswitchGuards(ModulePass):
    """Run a guard-free copy of a loop body when every split guard in it holds across it."""

    name = "unswitch-guards"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            if isinstance(fn, func.FuncOp) and fn.regions:
                changed = 0
                for nest in [o for o in fn.body.block.ops if o.name == "loop.for"]:
                    changed += unswitch_nest(nest)
                if changed:
                    region_dce(fn.body)  # the removed guards' conditions


__all__ = ["UnswitchGuards", "unswitch_nest"]
