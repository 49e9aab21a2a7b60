"""Einsum written with graph ops: diagonals (a label repeated in one operand) by an identity
mask and a sum, labels nobody else needs summed away, each pair of operands contracted by one
batched matmul between transposes and reshapes, and the result transposed to the output order."""

from __future__ import annotations

import numpy as np

from lamina.frontend.onnx.context import ImportContext, Unsupported, Val
from lamina.frontend.onnx.registry import converts
from lamina.ir.dims import Dim, dim_product

ELLIPSIS_LABELS = "0123456789"  # stand-ins for the axes '...' covers; never letters of the equation


def parse_equation(equation: str, ranks: list[int]) -> tuple[list[str], str]:
    """Operand terms and the output term, with '...' replaced by digit labels (right-aligned
    across operands as numpy broadcasting does) and the implicit output made explicit."""
    text = equation.replace(" ", "")
    lhs, arrow, out = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise Unsupported(f"Einsum equation '{equation}' names {len(terms)} operands, the node has {len(ranks)}")
    covered = []
    for term, rank in zip(terms, ranks):
        letters = len(term.replace("...", ""))
        if "..." in term:
            covered.append(rank - letters)
        elif letters != rank:
            raise Unsupported(f"Einsum term '{term}' has {letters} labels for an operand of rank {rank}")
    widest = max(covered, default=0)
    if widest > len(ELLIPSIS_LABELS):
        raise Unsupported(f"Einsum '...' over {widest} axes")
    ell = ELLIPSIS_LABELS[:widest]
    expanded = []
    k = 0
    for term in terms:
        if "..." in term:
            expanded.append(term.replace("...", ell[widest - covered[k] :]))
            k += 1
        else:
            expanded.append(term)
    if arrow:
        output = out.replace("...", ell)
    else:
        counts = {c: sum(t.count(c) for t in expanded) for t in expanded for c in t}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    for term in [*expanded, output]:
        if not all(c.isalpha() or c in ell for c in term):
            raise Unsupported(f"Einsum equation '{equation}' has a character that is not a label")
    return expanded, output


class Term:
    """A value with one label per axis."""

    def __init__(self, ctx: ImportContext, value: Val, labels: str):
        self.ctx, self.value, self.labels = ctx, value, labels

    @property
    def shape(self) -> list[Dim]:
        return list(self.ctx.shape(self.value))

    def emit(self, name: str, attrs: dict, labels: str) -> Term:
        return Term(self.ctx, Val(ssa=self.ctx.emit(name, [self.value], attrs)), labels)

    def diagonals(self) -> Term:
        t = self
        while len(set(t.labels)) != len(t.labels):
            label = next(c for c in t.labels if t.labels.count(c) > 1)
            p = t.labels.index(label)
            q = t.labels.index(label, p + 1)
            size = t.shape[p]
            if not isinstance(size, int):
                raise Unsupported("Einsum diagonal over a symbolic size")
            mask_shape = [1] * len(t.labels)
            mask_shape[p] = mask_shape[q] = size
            mask = np.eye(size, dtype=self.ctx.dtype(t.value)).reshape(mask_shape)
            masked = Term(t.ctx, Val(ssa=t.ctx.emit("mul", [t.value, Val(const=mask)])), t.labels)
            t = masked.emit("reduce_sum", {"axes": [q], "keepdims": False}, t.labels[:q] + t.labels[q + 1 :])
        return t

    def sum_all_but(self, keep: set[str]) -> Term:
        axes = [k for k, c in enumerate(self.labels) if c not in keep]
        if not axes:
            return self
        return self.emit("reduce_sum", {"axes": axes, "keepdims": False}, "".join(c for c in self.labels if c in keep))

    def ordered(self, labels: str) -> Term:
        if labels == self.labels:
            return self
        return self.emit("transpose", {"perm": [self.labels.index(c) for c in labels]}, labels)

    def broadcast_to(self, sizes: dict[str, Dim]) -> Term:
        want = [sizes[c] for c in self.labels]
        if want == self.shape:
            return self
        return self.emit("broadcast_to", {"shape": want}, self.labels)


def contract(a: Term, b: Term, keep: set[str]) -> Term:
    """a and b multiplied and summed over the labels they share that `keep` does not hold."""
    a = a.sum_all_but(keep | set(b.labels))
    b = b.sum_all_but(keep | set(a.labels))
    batch = "".join(c for c in a.labels if c in b.labels and c in keep)
    summed = "".join(c for c in a.labels if c in b.labels and c not in keep)
    a_only = "".join(c for c in a.labels if c not in b.labels)
    b_only = "".join(c for c in b.labels if c not in a.labels)
    size = dict(zip(a.labels, a.shape)) | dict(zip(b.labels, b.shape))

    def dims(labels: str) -> list[Dim]:
        return [size[c] for c in labels]

    lhs = a.ordered(batch + a_only + summed).emit("reshape", {"shape": [dim_product(dims(batch)), dim_product(dims(a_only)), dim_product(dims(summed))]}, "BMK")
    rhs = b.ordered(batch + summed + b_only).emit("reshape", {"shape": [dim_product(dims(batch)), dim_product(dims(summed)), dim_product(dims(b_only))]}, "BKN")
    product = Term(a.ctx, Val(ssa=a.ctx.emit("matmul", [lhs.value, rhs.value])), "BMN")
    labels = batch + a_only + b_only
    return product.emit("reshape", {"shape": dims(labels)}, labels)


@converts("Einsum")
def einsum(ctx: ImportContext, ins, attrs):
    equation = attrs["equation"]
    terms, output = parse_equation(equation, [ctx.rank(v) for v in ins])
    operands = [Term(ctx, v, t).diagonals() for v, t in zip(ins, terms)]
    if len(set(output)) != len(output):
        raise Unsupported(f"Einsum output '{output}' repeats a label")
    # Labels of size 1 in one operand broadcast against the others ('...' axes mostly).
    sizes: dict[str, Dim] = {}
    for t in operands:
        for c, d in zip(t.labels, t.shape):
            if sizes.get(c, 1) == 1:
                sizes[c] = d
    operands = [t.broadcast_to(sizes) for t in operands]
    result = operands[0].sum_all_but(set(output).union(*(set(t.labels) for t in operands[1:])))
    for k, t in enumerate(operands[1:], start=1):
        later = set(output).union(*(set(u.labels) for u in operands[k + 1 :]))
        result = contract(result, t, later)
    result = result.sum_all_but(set(output))
    missing = set(output) - set(result.labels)
    if missing:
        raise Unsupported(f"Einsum output label(s) {''.join(sorted(missing))} appear in no operand")
    return [result.ordered(output).value]
