"""`--verify-diagnostics`: MLIR's `// expected-error @below {{message}}` convention.

An annotation names a severity (error, warning, note), a line (`@below`, `@above`, `@+N`, `@-N`,
or its own line when there is no `@`), and a message that must occur in the diagnostic's text.
Every produced diagnostic must be expected and every expectation met.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lamina.ir.diagnostics import LaminaError, SourceLocation

_ANNOTATION = re.compile(r"//\s*expected-(error|warning|note)\s*(@(below|above|[+-]\d+))?\s*\{\{(.*?)\}\}")


@dataclass
class Expectation:
    severity: str
    line: int  # 1-based, in the whole file
    message: str
    annotation_line: int
    met: bool = False


def parse_expectations(text: str, first_line: int = 1) -> list[Expectation]:
    out: list[Expectation] = []
    lines = text.split("\n")
    for offset, line in enumerate(lines):
        for m in _ANNOTATION.finditer(line):
            here = first_line + offset
            where = m.group(3)
            if where is None:
                target = here
            elif where == "below":
                target = _next_code_line(lines, offset, +1) + first_line
            elif where == "above":
                target = _next_code_line(lines, offset, -1) + first_line
            else:
                target = here + int(where)
            out.append(Expectation(m.group(1), target, m.group(4), here))
    return out


def _next_code_line(lines: list[str], offset: int, step: int) -> int:
    """The nearest line in direction `step` that is not itself only an annotation."""
    k = offset + step
    while 0 <= k < len(lines) and _ANNOTATION.search(lines[k]) and lines[k].strip().startswith("//"):
        k += step
    return k


def check_diagnostics(produced: list[LaminaError], expected: list[Expectation], file: str) -> list[str]:
    """Mismatches as printable error lines; empty when everything matched."""
    problems: list[str] = []
    flat: list[tuple[str, str, SourceLocation | None]] = []
    for d in produced:
        flat.append((d.severity, d.message, d.location))
        flat.extend(("note", n.message, n.location or d.location) for n in d.notes)
    for severity, message, loc in flat:
        match = next(
            (
                e
                for e in expected
                if not e.met and e.severity == severity and loc is not None and e.line == loc.line and e.message in message
            ),
            None,
        )
        if match is not None:
            match.met = True
        elif severity != "note":
            where = f"{loc}: " if loc else f"{file}: "
            problems.append(f"{where}error: unexpected {severity}: {message}")
    for e in expected:
        if not e.met:
            problems.append(f"{file}:{e.annotation_line}: error: expected {e.severity} \"{e.message}\" on line {e.line} was not produced")
    return problems
