"""Index analysis for legality checks: affine forms of index values over loop variables, the
loop variables a value depends on, buffer accesses, and carried dependences of a loop.

An affine form is `const + sum(coeff * atom)`; atoms are loop variables, values defined
outside the loops (sizes, constants folded away) and opaque index values (divisions,
remainders, loaded indices) kept whole. Block iterator arguments stand for their bindings.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.ir import BlockArgument, Operation, SSAValue

from lamina.dialects.loop import REDUCE
from lamina.passes.schedule.nest import blocks_under, is_block, is_loop, loops_under, loop_var, static_extent, static_value


@dataclass(frozen=True)
class Affine:
    const: int
    terms: tuple[tuple[int, int], ...]  # (id of atom, coeff), sorted, no zero coefficient

    def coeff(self, atom: SSAValue) -> int:
        key = id(atom)
        return next((c for k, c in self.terms if k == key), 0)


class IndexAnalysis:
    def __init__(self):
        self.atoms: dict[int, SSAValue] = {}
        self._affine: dict[SSAValue, Affine] = {}
        self._vars: dict[SSAValue, frozenset[int]] = {}

    # -- what a value stands for

    def binding_of(self, value: SSAValue) -> SSAValue | None:
        """For an iterator argument of a loop.block region: the value bound to it."""
        if isinstance(value, BlockArgument):
            owner = value.block.parent_op()
            if is_block(owner):
                return owner.operands[value.index]
        return None

    def affine(self, value: SSAValue) -> Affine:
        cached = self._affine.get(value)
        if cached is None:
            cached = self._affine[value] = self._compute_affine(value)
        return cached

    def _atom(self, value: SSAValue) -> Affine:
        self.atoms[id(value)] = value
        return Affine(0, ((id(value), 1),))

    def _compute_affine(self, value: SSAValue) -> Affine:
        bound = self.binding_of(value)
        if bound is not None:
            return self.affine(bound)
        const = static_value(value)
        if const is not None:
            return Affine(const, ())
        owner = value.owner
        if isinstance(owner, arith.AddiOp | arith.SubiOp):
            a, b = (self.affine(v) for v in owner.operands)
            return combine(a, b, 1 if isinstance(owner, arith.AddiOp) else -1)
        if isinstance(owner, arith.MuliOp):
            a, b = (self.affine(v) for v in owner.operands)
            if not a.terms:
                return scale(b, a.const)
            if not b.terms:
                return scale(a, b.const)
        return self._atom(value)

    def loop_vars(self, value: SSAValue) -> frozenset[int]:
        """ids of the loop variables value depends on (through arithmetic and bindings)."""
        cached = self._vars.get(value)
        if cached is not None:
            return cached
        self._vars[value] = frozenset()  # cycles cannot occur in SSA; this guards recursion
        bound = self.binding_of(value)
        if bound is not None:
            result = self.loop_vars(bound)
        elif isinstance(value, BlockArgument) and is_loop(value.block.parent_op()):
            result = frozenset({id(value)})
        elif isinstance(value.owner, Operation):
            result = frozenset().union(*(self.loop_vars(v) for v in value.owner.operands)) if value.owner.operands else frozenset()
        else:
            result = frozenset()
        self._vars[value] = result
        return result


def combine(a: Affine, b: Affine, sign: int) -> Affine:
    terms = dict(a.terms)
    for k, c in b.terms:
        terms[k] = terms.get(k, 0) + sign * c
    return Affine(a.const + sign * b.const, tuple(sorted((k, c) for k, c in terms.items() if c)))


def scale(a: Affine, factor: int) -> Affine:
    if factor == 0:
        return Affine(0, ())
    return Affine(a.const * factor, tuple((k, c * factor) for k, c in a.terms))


# ---------------------------------------------------------------- accesses


@dataclass
class Access:
    op: Operation
    buffer: SSAValue
    indices: list[SSAValue]
    is_store: bool


def accesses(op: Operation) -> list[Access]:
    out = []

    # A plain recursion: xDSL's walk yields every op through one generator per nesting level,
    # and the compute-inline and fusion checks ask for the accesses of whole functions.
    def visit(parent: Operation) -> None:
        for region in parent.regions:
            for block in region.blocks:
                for inner in block.ops:
                    name = inner.name
                    if name == "loop.load":
                        out.append(Access(inner, inner.operands[0], list(inner.operands[1:]), False))
                    elif name == "loop.store":
                        out.append(Access(inner, inner.operands[1], list(inner.operands[2:]), True))
                    elif inner.regions:
                        visit(inner)

    visit(op)
    if op.name == "loop.load":
        out.insert(0, Access(op, op.operands[0], list(op.operands[1:]), False))
    elif op.name == "loop.store":
        out.insert(0, Access(op, op.operands[1], list(op.operands[2:]), True))
    return out


# ---------------------------------------------------------------- carried dependences


def reduction_blocks_of(loop: Operation, analysis: IndexAnalysis | None = None) -> list[Operation]:
    """Blocks under loop that bind a reduce iterator from loop's variable."""
    analysis = analysis or IndexAnalysis()
    var = id(loop_var(loop))
    found = []
    for block in blocks_under(loop):
        kinds = block.attr("iter_kinds")
        if any(kind == REDUCE and var in analysis.loop_vars(v) for kind, v in zip(kinds, block.operands)):
            found.append(block)
    return found


def carried_dependence(loop: Operation) -> str | None:
    """Why iterations of `loop` are not independent, or None when they are: it is a reduction
    loop, or a buffer element written in one iteration may be read or written in another."""
    label = loop.attr("label")
    if loop.attr("kind") == "reduction":
        return f"'{label}' is a reduction loop"
    analysis = IndexAnalysis()
    reducing = reduction_blocks_of(loop, analysis)
    if reducing:
        return f"'{label}' iterates a reduce iterator of block '{reducing[0].attr('label')}'"
    var = loop_var(loop)
    inner_widths, inner_ranges = {}, {}
    for inner in loops_under(loop):
        extent = static_extent(inner)
        key = id(loop_var(inner))
        inner_widths[key] = None if extent is None else max(extent - 1, 0)
        lo = static_value(inner.operands[0])
        if extent is not None and extent > 0 and lo is not None:
            inner_ranges[key] = (lo, lo + (extent - 1) // inner.attr("step") * inner.attr("step"))
    by_buffer: dict[SSAValue, list[Access]] = {}
    for access in accesses(loop):
        by_buffer.setdefault(access.buffer, []).append(access)
    for buffer, group in by_buffer.items():
        if not any(a.is_store for a in group):
            continue
        forms = [tuple(analysis.affine(i) for i in a.indices) for a in group]
        for x in range(len(group)):
            for y in range(x, len(group)):
                if not (group[x].is_store or group[y].is_store):
                    continue
                if forms[x] == forms[y]:
                    if not _injective(forms[x], group[x].indices, var, inner_widths, analysis):
                        return f"iterations of '{label}' write the same buffer element"
                elif not _separated(forms[x], forms[y], var, loop.attr("step"), inner_widths, inner_ranges, analysis):
                    return f"a buffer written inside '{label}' is accessed at different indices, so iterations may share an element"
    return None


def _parts(form: Affine, var_id: int, inner: dict, ranges: dict, analysis: IndexAnalysis):
    """(terms fixed across the loop's iterations, low, high of the part the inner loops move)."""
    fixed, low, high = [], form.const, form.const
    for k, c in form.terms:
        if k == var_id:
            continue
        if k in ranges:
            lo, hi = ranges[k]
            low, high = low + min(c * lo, c * hi), high + max(c * lo, c * hi)
        elif k in inner or analysis.loop_vars(analysis.atoms[k]) & (set(inner) | {var_id}):
            return None
        else:
            fixed.append((k, c))
    return tuple(fixed), low, high


def _separated(fa: tuple[Affine, ...], fb: tuple[Affine, ...], var: SSAValue, step: int, inner: dict, ranges: dict, analysis: IndexAnalysis) -> bool:
    """Whether two accesses can never meet in different iterations of the loop: some index
    moves with the loop by the same stride in both, from the same fixed base, by more than
    the inner loops and constants can close."""
    var_id = id(var)
    for a, b in zip(fa, fb):
        c = a.coeff(var)
        if c == 0 or b.coeff(var) != c:
            continue
        pa, pb = _parts(a, var_id, inner, ranges, analysis), _parts(b, var_id, inner, ranges, analysis)
        if pa is None or pb is None or pa[0] != pb[0]:
            continue
        if abs(c) * step > max(abs(pb[1] - pa[2]), abs(pb[2] - pa[1])):
            return True
    return False


def _injective(forms: tuple[Affine, ...], indices: list[SSAValue], var: SSAValue, widths: dict, analysis: IndexAnalysis) -> bool:
    """Whether different values of var always give different index tuples, whatever the loops
    inside take: some index moves with var by more than everything inside can move it."""
    candidates = list(forms)
    # A fused loop's variable is recovered from its quotient and remainder by the same divisor.
    quotients, remainders = {}, {}
    for index in indices:
        owner = index.owner
        for v in [index, analysis.binding_of(index)]:
            if v is None:
                continue
            owner = v.owner
            if isinstance(owner, arith.DivSIOp | arith.FloorDivSIOp):
                quotients[(owner.operands[0], owner.operands[1])] = True
            elif isinstance(owner, arith.RemSIOp):
                remainders[(owner.operands[0], owner.operands[1])] = True
    for key in quotients:
        if key in remainders:
            candidates.append(analysis.affine(key[0]))
    var_id = id(var)
    for form in candidates:
        c = form.coeff(var)
        if c == 0:
            continue
        spread = 0
        for k, coeff in form.terms:
            if k == var_id:
                continue
            if k in widths:
                if widths[k] is None:
                    spread = None
                    break
                spread += abs(coeff) * widths[k]
            elif var_id in analysis.loop_vars(analysis.atoms[k]) or any(w in widths for w in analysis.loop_vars(analysis.atoms[k])):
                spread = None
                break
        if spread is not None and abs(c) > spread:
            return True
    return False
