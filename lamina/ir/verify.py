"""Verification with located errors: the first op that fails is reported at its source
location with the verifier's own message (xDSL's verifier would print the whole module)."""

from __future__ import annotations

from xdsl.ir import Operation
from xdsl.utils.exceptions import VerifyException

from lamina.ir.diagnostics import LaminaError, Note, location_of


def verify_op_tree(root: Operation, context: str | None = None) -> None:
    """Verify `root` and everything nested in it; raise a LaminaError at the first failure.
    `context` (e.g. "after pass 'canonicalize'") is added as a note."""
    for op in root.walk():
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
