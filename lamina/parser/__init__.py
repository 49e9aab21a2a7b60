"""The text format's parser: a Lark LALR grammar (grammar.lark) and a builder that turns the
parse tree into xDSL operations with file:line:col locations (builder.py)."""

from __future__ import annotations

import functools
import os

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from xdsl.dialects.builtin import ModuleOp

from lamina.ir.diagnostics import LaminaError, Note, SourceLocation, SourceRegistry
from lamina.ir.verify import verify_op_tree

# How each terminal reads in "expected ..." messages.
TERMINAL_WORDS = {
    "VALUE_ID": "a value (%name)",
    "SYMBOL": "a symbol (@name)",
    "OP_NAME": "an op name",
    "BARE_ID": "a name",
    "SHAPED_TYPE": "a shaped type",
    "STRING": "a string",
    "INT": "an integer",
    "FLOAT": "a number",
    "DENSE": "dense<...>",
    "DENSE_RESOURCE": "dense_resource<...>",
    "LOC": "loc(...)",
    "_NL": "end of line",
    "COMMA": "','",
    "COLON": "':'",
    "EQUAL": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "ARROW": "'->'",
    "MORETHAN": "'>'",
    "MINUS": "'-'",
    "PLUS": "'+'",
    "STAR": "'*'",
    "FUNC_KW": "func.func",
    "MODULE_KW": "builtin.module",
    "HASH_ATTR": "an attribute",
    "BLOCK_ID": "a block label (^bb0)",
    "RESOURCES": "a {-# ... #-} section",
    "$END": "end of input",
}


@functools.cache
def grammar() -> Lark:
    path = os.path.join(os.path.dirname(__file__), "grammar.lark")
    with open(path, encoding="utf-8") as f:
        return Lark(f.read(), parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=True, cache=True)


def _expected(names) -> str:
    words = sorted({TERMINAL_WORDS.get(n, n) for n in names})
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words)


def _unclosed_brace(text: str) -> tuple[int, int] | None:
    """(line, column) of the innermost '{' left open at the end of `text`, skipping strings,
    comments and the resource section."""
    opened: list[tuple[int, int]] = []
    line, line_start, i, n = 1, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line, line_start = line + 1, i + 1
        elif ch == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
            if i < n and text[i] == '"':
                i += 1
            continue
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif text.startswith("{-#", i):
            end = text.find("#-}", i)
            if end < 0:
                return line, i - line_start + 1
            newlines = text.count("\n", i, end)
            if newlines:
                line, line_start = line + newlines, text.rfind("\n", 0, end) + 1
            i = end + 3
            continue
        elif ch == "{":
            opened.append((line, i - line_start + 1))
        elif ch == "}" and opened:
            opened.pop()
        i += 1
    return opened[-1] if opened else None


def _end_of_input(expected, loc: SourceLocation, text: str, filename: str, first_line: int) -> LaminaError:
    brace = _unclosed_brace(text)
    if brace is None:
        return LaminaError(f"unexpected end of input; expected {_expected(expected)}", loc)
    opened_at = SourceLocation(filename, brace[0] + first_line - 1, brace[1])
    return LaminaError("unterminated region: expected '}' before the end of input", loc, [Note("the region opened here", opened_at)])


def _unterminated_shaped_type(text: str, pos: int) -> str | None:
    """'tensor' / 'memref' / 'vector' when the '<' at `pos` opens a shaped type that the lexer
    could not read because its '>' is missing on that line."""
    if pos is None or not 0 <= pos < len(text) or text[pos] != "<":
        return None
    line_end = text.find("\n", pos)
    rest = text[pos : line_end if line_end >= 0 else len(text)]
    for kind in ("tensor", "memref", "vector"):
        before = text[max(0, pos - len(kind) - 1) : pos]
        if before.endswith(kind) and not before[: -len(kind)].replace("_", "a").isalnum() and ">" not in rest:
            return kind
    return None


def _syntax_error(e: UnexpectedInput, text: str, filename: str, first_line: int) -> LaminaError:
    line = getattr(e, "line", 1) or 1
    column = getattr(e, "column", 1) or 1
    loc = SourceLocation(filename, line + first_line - 1, column)
    if isinstance(e, UnexpectedToken):
        tok: Token = e.token
        if tok.type == "$END":
            return _end_of_input(e.expected, loc, text, filename, first_line)
        shown = "end of line" if tok.type == "_NL" else f"'{tok}'"
        return LaminaError(f"unexpected {shown}; expected {_expected(e.expected)}", loc)
    if isinstance(e, UnexpectedCharacters):
        shaped = _unterminated_shaped_type(text, e.pos_in_stream)
        if shaped is not None:
            start = SourceLocation(filename, loc.line, column - len(shaped))
            return LaminaError(f"unterminated type '{shaped}<': expected '>' before the end of the line", start)
        return LaminaError(f"unexpected character {e.char!r}; expected {_expected(e.allowed or [])}", loc)
    if isinstance(e, UnexpectedEOF):
        return _end_of_input(e.expected, loc, text, filename, first_line)
    return LaminaError(f"syntax error: {e}", loc)


def parse_module(text: str, filename: str = "<stdin>", first_line: int = 1) -> ModuleOp:
    """Parse lamina text IR into a builtin.module; errors are located LaminaErrors."""
    from lamina.parser.builder import Builder

    SourceRegistry.register(filename, text, first_line)
    source = text if text.endswith("\n") else text + "\n"
    try:
        tree = grammar().parse(source)
    except UnexpectedInput as e:
        raise _syntax_error(e, source, filename, first_line) from None
    except VisitError as e:  # pragma: no cover - the grammar has no callbacks
        raise LaminaError(str(e.orig_exc)) from None
    module = Builder(filename, first_line).module(tree)
    # The builder checks what the text spells; the verifiers check what it means (shapes,
    # element types, terminators), each failure located at its op.
    verify_op_tree(module)
    return module


__all__ = ["parse_module"]
