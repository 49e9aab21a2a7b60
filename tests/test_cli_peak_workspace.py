"""`lamina run` and `lamina compile` report the peak bytes of the liveness-planned workspace:
the value for the sizes of this run, and the formula over the symbolic dims."""

import os
import re
import subprocess
import sys

import lamina
from lamina.ir.dims import evaluate_dim, parse_dim

MLP_TEXT = os.path.join(os.path.dirname(__file__), "..", "examples", "mlp.mlir")


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "lamina.tools.cli", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_run_reports_the_peak_for_its_sizes():
    model = lamina.compile(MLP_TEXT)
    formula = model.signature.peak_workspace
    assert "n" in formula  # the workspace grows with the batch
    for n in (1, 6):
        out = cli("run", MLP_TEXT, "--dim", f"n={n}", "-q").stdout
        match = re.search(r"peak workspace: (\d+) bytes \((.*) planned by liveness\)", out)
        assert match, out
        assert int(match.group(1)) == model.peak_workspace_bytes(n=n) == evaluate_dim(parse_dim(formula), {"n": n})
        assert match.group(2) == formula


def test_compile_reports_the_formula(tmp_path):
    err = cli("compile", MLP_TEXT, "-o", str(tmp_path / "mlp.so")).stderr
    formula = lamina.load(str(tmp_path / "mlp.so")).signature.peak_workspace
    assert f"peak workspace: {formula} bytes" in err
    assert "peak workspace" not in cli("compile", MLP_TEXT, "-o", str(tmp_path / "mlp.so"), "-q").stderr
