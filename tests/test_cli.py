"""The `lamina` command on the bundled examples: compile, run (with the onnxruntime comparison),
inspect, bench; and errors without tracebacks."""

import os
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
MLP = os.path.join(EXAMPLES, "mlp.onnx")


def lamina(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "lamina.tools.cli", *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_run_compares_with_onnxruntime():
    out = lamina("run", MLP, "--dim", "n=3", "--compare", "onnxruntime", "-q").stdout
    assert "probs: shape=[3, 10]" in out
    err = float(out.split("max abs error")[1].split(",")[0])
    assert err < 1e-4


def test_compile_writes_a_library_and_header(tmp_path):
    so = tmp_path / "mlp.so"
    lamina("compile", MLP, "-o", str(so), "-q")
    assert so.exists() and (tmp_path / "mlp.h").exists()
    c_dir = tmp_path / "csrc"
    lamina("compile", MLP, "--target", "c", "-o", str(c_dir), "-q")
    assert (c_dir / "main.c").exists()


def test_inspect_histogram_ir_and_dot():
    out = lamina("inspect", MLP).stdout
    assert "Gemm" in out and "parameters" in out
    assert "digraph" in lamina("inspect", MLP, "--dot").stdout
    after = lamina("inspect", MLP, "--print-ir-after", "lower-graph-to-loop", "-q")
    assert "loop.for" in after.stderr


def test_bench_reports_a_same_run_ratio():
    out = lamina("bench", MLP, "--seconds", "0.3", "--rounds", "1", "--json", "-q").stdout
    assert "speedup_vs_onnxruntime" in out


def test_errors_are_one_line_not_tracebacks(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    proc = lamina("run", str(bad), check=False)
    assert proc.returncode == 1
    assert "not a valid ONNX model" in proc.stderr and "Traceback" not in proc.stderr
    proc = lamina("compile", MLP, "-o", str(tmp_path / "x.dylib"), check=False)
    assert proc.returncode == 1 and "NAME.so" in proc.stderr
