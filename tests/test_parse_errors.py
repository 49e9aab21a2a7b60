"""Every kind of malformed input gives one located LaminaError: `file:line:col: error: message`,
the offending source line, and a caret under the column. Never a Python traceback."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.ir.diagnostics import LaminaError
from lamina.parser import parse_module

HEAD = "func.func @f(%a: tensor<4xf32>, %b: tensor<4x8xf32>) -> tensor<4xf32> {\n"
TAIL = "  func.return %a : tensor<4xf32>\n}\n"


def body(*lines: str) -> str:
    """A function whose line 2 onwards are `lines`."""
    return HEAD + "".join(f"  {line}\n" for line in lines) + TAIL


def resources(entry: str) -> str:
    return "{-#\n  dialect_resources: {\n    builtin: {\n      " + entry + "\n    }\n  }\n#-}\n"


def parse_error(text: str, first_line: int = 1) -> LaminaError:
    with pytest.raises(LaminaError) as info:
        parse_module(text, "bad.mlir", first_line)
    return info.value


def assert_located(error: LaminaError, line: int, column: int, message: str, source_line: str) -> None:
    rendered = error.render().split("\n")
    assert rendered[0] == f"bad.mlir:{line}:{column}: error: {message}"
    assert rendered[1] == source_line
    assert rendered[2] == " " * (column - 1) + "^"


CASES = {
    "syntax error says what was expected": (
        body("%c = graph.add %a %a"),
        2, 21, "unexpected '%a'; expected '(', ')', ',', ':', '{', end of line, loc(...)",
    ),
    "unexpected character": (
        body("%c = graph.relu %a ?"),
        2, 22, "unexpected character '?'; expected '(', ')', ',', ':', '{', end of line, loc(...)",
    ),
    "unknown op": (
        body("%c = graph.frobnicate %a"),
        2, 8, "unknown op 'graph.frobnicate' (lamina-opt --list-ops graph lists them)",
    ),
    "unknown dialect": (
        body("%c = zork.add %a, %a"),
        2, 8, "unknown dialect 'zork' in 'zork.add'",
    ),
    "unknown dialect in the generic form": (
        body('%c = "zork.id"(%a) : (tensor<4xf32>) -> tensor<4xf32>'),
        2, 8, "unknown dialect 'zork' in 'zork.id'",
    ),
    "undefined value": (
        body("%c = graph.add %a, %z"),
        2, 22, "undefined value '%z'",
    ),
    "redefined value": (
        body("%c = graph.relu %a", "%c = graph.neg %a"),
        3, 3, "'%c' is already defined",
    ),
    "argument redefined": (
        "func.func @f(%a: f32, %a: f32) {\n  func.return\n}\n",
        1, 23, "'%a' is already defined",
    ),
    "wrong operand count": (
        body("%c = graph.add %a"),
        2, 8, "'graph.add' expects 2 operands, got 1",
    ),
    "wrong result count": (
        body("%c, %d = graph.relu %a"),
        2, 3, "'graph.relu' has 1 result but 2 names are bound",
    ),
    "unknown attribute": (
        body("%c = graph.softmax %a {axes = 1}"),
        2, 26, "unknown attribute 'axes' of 'graph.softmax' (attributes: axis)",
    ),
    "ill-typed attribute": (
        body('%c = graph.softmax %a {axis = "last"}'),
        2, 33, "attribute 'axis' expects an integer, got the string \"last\"",
    ),
    "ill-typed list item": (
        body("%c = graph.reshape %a {shape = [2, 2.5]}"),
        2, 38, "attribute 'shape' expects a list of sizes, got the number 2.5",
    ),
    "integer attribute out of range": (
        body("%c = graph.softmax %a {axis = 99999999999999999999}"),
        2, 33, "attribute 'axis': 99999999999999999999 does not fit in 64 bits",
    ),
    "attribute given twice": (
        body("%c = graph.softmax %a {axis = 0, axis = 0}"),
        2, 36, "attribute 'axis' given twice",
    ),
    "missing required attribute": (
        body("%c = graph.reshape %a"),
        2, 8, "'graph.reshape' is missing required attribute 'shape'",
    ),
    "positional value where the op takes none": (
        body("%c = graph.relu 3, %a"),
        2, 19, "'graph.relu' takes no value before its operands",
    ),
    "bad element type": (
        body("%c = graph.relu %a : tensor<4xf33>"),
        2, 24, "unknown element type 'f33' (element types: f16, f32, f64, i1, i8, i16, i32, i64, ui8, ui16, ui32, ui64, index)",
    ),
    "bad shape": (
        body("%c = graph.relu %a : tensor<-4xf32>"),
        2, 24, "bad shape in 'tensor<-4xf32>': write static shapes as 4x8xf32 and symbolic ones as n x 8 x f32",
    ),
    "bad argument type": (
        "func.func @f(%a: f33) {\n  func.return\n}\n",
        1, 18, "unknown element type 'f33' (element types: f16, f32, f64, i1, i8, i16, i32, i64, ui8, ui16, ui32, ui64, index)",
    ),
    "result type disagrees with the inferred one": (
        body("%c = graph.relu %a : tensor<5xf32>"),
        2, 8, "'graph.relu' declares result type tensor<5xf32> but its operands give tensor<4xf32>",
    ),
    "shapes that do not broadcast": (
        body("%c = graph.add %a, %b"),
        2, 8, "'graph.add': shapes [4], [4, 8] do not broadcast",
    ),
    "reshape to a different element count": (
        body("%c = graph.reshape %a {shape = [3, 2]}"),
        2, 8, "'graph.reshape': cannot reshape tensor<4xf32> (4 elements) to [3, 2] (6 elements)",
    ),
    "row verifier on the generic form": (
        body('%c = "graph.relu"(%a) : (tensor<4xf32>) -> tensor<5xf32>'),
        2, 3, "'graph.relu': result #0 has type tensor<5xf32> but the operands give tensor<4xf32>",
    ),
    "generic operand types disagree": (
        body('%c = "graph.relu"(%a) : (tensor<5xf32>) -> tensor<4xf32>'),
        2, 8, "the operand types in the function type do not match the operands",
    ),
    "return type disagrees with the signature": (
        HEAD + "  func.return %b : tensor<4x8xf32>\n}\n",
        2, 3, "func.return gives (tensor<4x8xf32>) but @f returns (tensor<4xf32>)",
    ),
    "function without return": (
        "func.func @g(%x: f32) -> f32 {\n}\n",
        1, 1, "@g must end with func.return",
    ),
    "constant literal of the wrong shape": (
        body("%c = graph.const dense<[1.0, 2.0]> : tensor<3xf32>"),
        2, 20, "dense literal has shape [2] but the type says [3]",
    ),
    "constant without its type": (
        body("%c = graph.const dense<1.0>"),
        2, 20, "'graph.const' needs its result type after ':' to read a constant",
    ),
    "unknown resource blob": (
        body("%c = graph.const dense_resource<nowhere> : tensor<20xf32>"),
        2, 20, "unknown resource 'nowhere' (no such entry in the dialect_resources section)",
    ),
    "blob with bad hex": (
        body("%c = graph.const dense_resource<w> : tensor<2xf32>") + resources('w: "0x04000000ZZ"'),
        8, 7, "resource 'w' is not valid hex",
    ),
    "blob of the wrong size": (
        body("%c = graph.const dense_resource<w> : tensor<2xf32>") + resources('w: "0x0400000000000000"'),
        2, 20, "resource 'w' holds 4 bytes but [2] x float32 needs 8",
    ),
    "blob without its alignment header": (
        body("%c = graph.const dense_resource<w> : tensor<2xf32>") + resources('w: "0x0400"'),
        8, 7, "resource 'w' lacks its 4-byte alignment header",
    ),
    "arith op with operands of different types": (
        "func.func @g(%x: f32, %i: i32) -> f32 {\n  %s = arith.addf %x, %i : f32\n  func.return %s : f32\n}\n",
        2, 3, "operand 'rhs' at position 1 does not verify: attribute f32 expected from variable 'T', but got i32",
    ),
    "arith op without its type": (
        "func.func @g(%x: f32) -> f32 {\n  %s = arith.addf %x, %x\n  func.return %s : f32\n}\n",
        2, 8, "'arith.addf' needs its result type after ':'",
    ),
    "comparison without a predicate": (
        "func.func @g(%x: f32) -> i1 {\n  %s = arith.cmpf %x, %x : f32\n  func.return %s : i1\n}\n",
        2, 8, "'arith.cmpf' needs a predicate: one of false, oeq, ogt, oge, olt, ole, one, ord, ueq, ugt, uge, ult, ule, une, uno, true",
    ),
    "nested module": (
        "builtin.module {\n  builtin.module {\n  }\n}\n",
        2, 3, "a builtin.module may only wrap the whole file",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_error_is_located_with_its_message(name):
    text, line, column, message = CASES[name]
    error = parse_error(text)
    assert_located(error, line, column, message, text.split("\n")[line - 1])


def test_first_line_offsets_the_reported_line():
    text = body("%c = graph.relu %zz")
    error = parse_error(text, first_line=40)
    assert str(error.location) == "bad.mlir:41:19"
    assert error.message == "undefined value '%zz'"


def test_unterminated_region_points_at_the_end_and_notes_the_open_brace():
    text = HEAD + "  %c = graph.relu %a\n"
    error = parse_error(text)
    assert_located(error, 2, 21, "unterminated region: expected '}' before the end of input", "  %c = graph.relu %a")
    (note,) = error.notes
    assert note.message == "the region opened here"
    assert str(note.location) == f"bad.mlir:1:{HEAD.index('{') + 1}"


def test_unterminated_region_ignores_braces_in_strings_comments_and_closed_functions():
    text = (
        "func.func @g() {\n  func.return\n}\n"
        'func.func @h() attributes {note = "}}"} {\n'
        "  // } a brace in a comment\n"
        "  func.return\n"
    )
    error = parse_error(text)
    assert error.message.startswith("unterminated region")
    assert str(error.notes[0].location) == "bad.mlir:4:41"


def test_end_of_input_outside_a_region_lists_what_was_expected():
    error = parse_error("func.func @f(%a: f32")
    assert error.message.startswith("unexpected end of line; expected")
    assert str(error.location).startswith("bad.mlir:1:")


VALID = body(
    "%s = graph.softmax %a {axis = 0} : tensor<4xf32>",
    "%r = graph.reshape %b {shape = [8, 4]} : tensor<8x4xf32>",
    "%k = graph.const dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>",
    '%g = "graph.add"(%s, %k) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>',
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_corrupted_text_parses_or_fails_with_a_located_error(data):
    """Deleting, duplicating or replacing any character never leaks a Python exception."""
    position = data.draw(st.integers(0, len(VALID) - 1))
    edit = data.draw(st.sampled_from(["delete", "duplicate", "replace"]))
    if edit == "delete":
        text = VALID[:position] + VALID[position + 1 :]
    elif edit == "duplicate":
        text = VALID[:position] + VALID[position] + VALID[position:]
    else:
        text = VALID[:position] + data.draw(st.sampled_from(list('%@{}()<>[],:="x1-.#^ \n'))) + VALID[position + 1 :]
    try:
        parse_module(text, "bad.mlir")
    except LaminaError as error:
        assert error.location is not None
        assert error.render().startswith(f"bad.mlir:{error.location.line}:{error.location.column}: error: ")


def test_syntax_error_in_a_later_chunk_is_reported_at_its_line_in_the_whole_file():
    text = body("%c = graph.add %a %a")
    error = parse_error(text, first_line=100)
    rendered = error.render().split("\n")
    assert rendered[0].startswith("bad.mlir:101:21: error: unexpected '%a'")
    assert rendered[1:] == ["  %c = graph.add %a %a", " " * 20 + "^"]
