"""A shaped type missing its '>' is reported as such, at the type, with the line and a caret,
instead of an 'unexpected character' list that does not mention '>'."""

import subprocess
import sys

import pytest

from lamina.ir.diagnostics import LaminaError
from lamina.parser import parse_module


@pytest.mark.parametrize("kind", ["tensor", "memref", "vector"])
def test_a_missing_closing_angle_is_named(kind):
    text = f"func.func @f(%x: tensor<4 x f32>) -> tensor<4 x f32> {{\n  %a = graph.relu %x : {kind}<4 x f32\n  func.return %a : tensor<4 x f32>\n}}\n"
    with pytest.raises(LaminaError) as info:
        parse_module(text, "t.mlir")
    rendered = info.value.render()
    assert rendered.splitlines()[0] == f"t.mlir:2:24: error: unterminated type '{kind}<': expected '>' before the end of the line"
    assert rendered.splitlines()[1] == f"  %a = graph.relu %x : {kind}<4 x f32"
    assert rendered.splitlines()[2] == " " * 23 + "^"


def test_other_stray_angles_keep_the_generic_message():
    text = "func.func @f(%x: tensor<4 x f32>) -> tensor<4 x f32> {\n  %a = graph.relu %x : f32 < 3\n}\n"
    with pytest.raises(LaminaError, match="unexpected character '<'"):
        parse_module(text, "t.mlir")
    # An identifier that merely ends in 'tensor' is not a shaped type either.
    text = "func.func @f(%x: tensor<4 x f32>) -> tensor<4 x f32> {\n  %a = graph.relu %x : mytensor<4\n}\n"
    with pytest.raises(LaminaError, match="unexpected character '<'"):
        parse_module(text, "t.mlir")


def test_lamina_opt_exits_1_without_a_traceback(tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text("func.func @f(%x: tensor<4 x f32>) -> tensor<4 x f32> {\n  %a = graph.relu %x : tensor<4 x f32\n}\n")
    proc = subprocess.run([sys.executable, "-m", "lamina.tools.opt", str(path)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{path}:2:24: error: unterminated type 'tensor<'" in proc.stderr
