"""Located diagnostics: file:line:col, the source line, a caret under the column."""

from lamina.ir.diagnostics import (
    LaminaError,
    Note,
    SourceLocation,
    SourceRegistry,
    capture_warnings,
    emit_warning,
)


def test_render_shows_line_and_caret():
    SourceRegistry.register("t.mlir", "first line\n  %x = graph.bogus %a\nthird\n")
    err = LaminaError("unknown op 'graph.bogus'", SourceLocation("t.mlir", 2, 8))
    lines = err.render().splitlines()
    assert lines[0] == "t.mlir:2:8: error: unknown op 'graph.bogus'"
    assert lines[1] == "  %x = graph.bogus %a"
    assert lines[2] == " " * 7 + "^"


def test_first_line_offset_for_split_files():
    SourceRegistry.register("s.mlir", "chunk line\n", first_line=10)
    err = LaminaError("bad", SourceLocation("s.mlir", 10, 1))
    assert err.render().splitlines()[1] == "chunk line"


def test_notes_render_after_the_error():
    err = LaminaError("broken", SourceLocation("n.mlir", 1, 1), notes=[Note("while running pass 'dce'", None)])
    text = err.render()
    assert text.index("error: broken") < text.index("note: while running pass 'dce'")


def test_unlocated_error_still_renders():
    assert LaminaError("no place").render().startswith("error: no place")


def test_warnings_are_captured():
    with capture_warnings() as warnings:
        emit_warning("did not converge", SourceLocation("w.mlir", 3, 4))
    assert len(warnings) == 1
    assert warnings[0].render().startswith("w.mlir:3:4: warning: did not converge")
