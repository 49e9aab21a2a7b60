"""Located errors: `file:line:col: error: message`, the source line, and a caret under the column.

Every user-facing failure (parse, verification, a refused rewrite, an unsupported model) is a
`LaminaError`; tools print `render()` and exit 1 instead of showing a Python traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects.builtin import FileLineColLoc, IntAttr, StringAttr
from xdsl.ir import Operation


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_attr(self) -> FileLineColLoc:
        return FileLineColLoc(StringAttr(self.file), IntAttr(self.line), IntAttr(self.column))


class SourceRegistry:
    """Texts of the files parsed in this process, so a diagnostic raised long after parsing (by a
    verifier or a pass) can still show the offending line."""

    _texts: dict[str, list[str]] = {}

    @classmethod
    def register(cls, file: str, text: str, first_line: int = 1) -> None:
        lines = cls._texts.setdefault(file, [])
        new = text.split("\n")
        needed = first_line - 1 + len(new)
        if len(lines) < needed:
            lines.extend([""] * (needed - len(lines)))
        lines[first_line - 1 : needed] = new

    @classmethod
    def line(cls, file: str, line: int) -> str | None:
        lines = cls._texts.get(file)
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]


def location_of(op: Operation | None) -> SourceLocation | None:
    """The file:line:col an op was parsed from (or was given by the pass that created it)."""
    while op is not None:
        loc = op.location
        if isinstance(loc, FileLineColLoc):
            return SourceLocation(loc.filename.data, loc.line.data, loc.column.data)
        return None
    return None


@dataclass
class Note:
    message: str
    location: SourceLocation | None = None


@dataclass
class LaminaError(Exception):
    """A diagnostic for the user. `severity` is 'error' unless a tool reports a warning."""

    message: str
    location: SourceLocation | None = None
    notes: list[Note] = field(default_factory=list)
    severity: str = "error"

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        out = [_render_one(self.severity, self.message, self.location)]
        out += [_render_one("note", n.message, n.location) for n in self.notes]
        return "\n".join(out)


def _render_one(severity: str, message: str, loc: SourceLocation | None) -> str:
    if loc is None:
        return f"{severity}: {message}"
    head = f"{loc}: {severity}: {message}"
    text = SourceRegistry.line(loc.file, loc.line)
    if text is None:
        return head
    caret_col = max(loc.column - 1, 0)
    # Keep tabs so the caret lines up under the same column in a terminal.
    pad = "".join("\t" if ch == "\t" else " " for ch in text[:caret_col])
    return f"{head}\n{text}\n{pad}^"


def error_at(op: Operation | None, message: str, notes: list[Note] | None = None) -> LaminaError:
    return LaminaError(message, location_of(op), notes or [])


# ---------------------------------------------------------------- warnings

_warning_handlers: list = []


def emit_warning(message: str, location: SourceLocation | None = None) -> None:
    """Report a warning (e.g. a fixpoint rewrite hit its iteration cap). Tools install a handler
    with `capture_warnings()`; without one the warning goes to stderr."""
    diag = LaminaError(message, location, severity="warning")
    if _warning_handlers:
        _warning_handlers[-1](diag)
    else:
        import sys

        print(diag.render(), file=sys.stderr)


class capture_warnings:
    """`with capture_warnings() as found:` collects the warnings emitted inside."""

    def __enter__(self) -> list[LaminaError]:
        self.found: list[LaminaError] = []
        _warning_handlers.append(self.found.append)
        return self.found

    def __exit__(self, *exc) -> None:
        _warning_handlers.remove(self.found.append)
