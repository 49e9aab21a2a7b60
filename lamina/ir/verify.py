"""Verification with located errors: the first op that fails is reported at its source
location with the verifier's own message (xDSL's verifier would print the whole module)."""

from __future__ import annotations

from xdsl.dialects.builtin import FloatAttr, IntAttr, IntegerAttr, StringAttr
from xdsl.ir import ErasedSSAValue, Operation
from xdsl.utils.exceptions import VerifyException

from lamina.ir.diagnostics import LaminaError, Note, location_of
from lamina.ir.optable import TableOp


# Ops whose verifiers read only the op itself: its class, operand and result types, properties
# and place in its block. Their verdict is shared by every op of the same form.
STRUCTURAL_DIALECTS = ("arith.", "math.", "loop.", "device.", "graph.")
# Attribute kinds hashed by value in a form (cheap, and equal ones are often distinct objects);
# any other attribute (a tensor of weights) by identity.
SMALL_ATTRIBUTES = (IntegerAttr, FloatAttr, StringAttr, IntAttr)


def _attribute_key(value):
    return value if isinstance(value, SMALL_ATTRIBUTES) else id(value)


class VerifiedOps:
    """What verify_op_tree has seen verified, so verifying after every pass re-checks only
    forms of ops it has not seen pass. An op of the structural dialects without successors (and,
    if it has regions, generated from a table row) verifies from its form alone: class, the
    blocks of its regions with their argument types and terminators, operand and result types,
    properties and attributes, the kind of op holding its block and whether it ends that
    block. Other ops (functions, whose isolation depends on their whole body; a call, which
    reads the symbol table) are always verified."""

    def __init__(self) -> None:
        self._passed: set[tuple] = set()

    @staticmethod
    def form(op: Operation) -> tuple | None:
        if op.successors or not op.name.startswith(STRUCTURAL_DIALECTS):
            return None
        if op.regions and not isinstance(op, TableOp):
            return None
        block = op.parent
        holder = block.parent_op() if block is not None else None
        return (
            type(op),
            # A table op's verifier reads its row, types and attributes; of its regions, what
            # the region specs constrain: blocks, their argument types and terminators.
            tuple(tuple((tuple(a.type for a in b.args), b.last_op.name if b.last_op else None) for b in r.blocks) for r in op.regions),
            tuple(o.type for o in op.operands),
            tuple(r.type for r in op.results),
            tuple((k, _attribute_key(v)) for k, v in op.properties.items()),
            tuple((k, _attribute_key(v)) for k, v in op.attributes.items()),
            None if holder is None else (holder.name, len(block.parent.blocks)),
            block is not None and block.last_op is op,
        )

    def seen(self, form: tuple | None) -> bool:
        return form is not None and form in self._passed

    def remember(self, form: tuple | None) -> None:
        if form is not None:
            self._passed.add(form)


def verify_op_tree(root: Operation, context: str | None = None, verified: VerifiedOps | None = None) -> None:
    """Verify `root` and everything nested in it; raise a LaminaError at the first failure.
    `context` (e.g. "after pass 'canonicalize'") is added as a note. With `verified`, an op of
    a form that has passed before (see VerifiedOps) is not verified again."""
    for op in root.walk():
        form = verified.form(op) if verified is not None else None
        if form is not None and verified.seen(form) and not any(isinstance(o, ErasedSSAValue) for o in op.operands):
            continue
        try:
            Operation.verify(op, verify_nested_ops=False)  # structure, then the op's own verifier
        except (VerifyException, ValueError) as failure:
            e = failure
            try:
                op.verify_()  # its message alone: Operation.verify appends the whole module to it
            except (VerifyException, ValueError) as own:
                e = own
            notes = [Note(f"IR became invalid {context}")] if context else []
            lines = [line.strip() for line in str(e).split("\n") if line.strip()]
            # xDSL puts the reason of "operand 'x' does not verify:" on the next line.
            message = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines[0] if lines else type(e).__name__)
            raise LaminaError(message, location_of(op), notes) from None
        if verified is not None:
            verified.remember(form)
