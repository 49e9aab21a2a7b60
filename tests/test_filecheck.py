"""Runs the lit + FileCheck suite in tests/filecheck through lamina-opt, one pytest case per file."""

import pathlib
import subprocess
import sys

import pytest

SUITE = pathlib.Path(__file__).parent / "filecheck"
FILES = sorted(p for p in SUITE.rglob("*.mlir") if "Inputs" not in p.parts and "Output" not in p.parts)


def test_suite_is_large_enough():
    assert len(FILES) >= 40, f"only {len(FILES)} lit tests in {SUITE}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SUITE)))
def test_lit_file(path):
    proc = subprocess.run(
        [sys.executable, "-c", "from lit.main import main; main()", "-v", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "Passed: 1" in proc.stdout, proc.stdout[-3000:]
