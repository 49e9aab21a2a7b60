"""`python -m bench` runs its engines in worker processes that stay up across interleaved rounds,
and reports a broken engine as an error in its cell, not as a crash of the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_bench(tmp_path, *args: str) -> tuple[str, list[dict]]:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(out.read_text())


def test_rounds_of_each_engine_come_from_one_worker(tmp_path):
    printed, rows = run_bench(tmp_path, "sgemm-256", "--threads", "1", "--rounds", "3", "--seconds", "0.05", "--engines", "lamina,numpy")
    (row,) = rows
    assert row["case"] == "sgemm-256" and row["threads"] == 1
    for engine in ("lamina", "numpy"):
        assert 0 < row[engine]["median_ms"] <= row[engine]["p90_ms"]
        assert row[engine]["max_rss_mb"] > 0
    assert row["lamina"]["compile_s"] > 0
    assert "numpy=" in printed and "(x" in printed
    assert not os.path.exists(str(tmp_path / "bench.json") + ".tmp")


def test_an_engine_that_fails_is_an_error_in_its_cell(tmp_path):
    printed, rows = run_bench(tmp_path, "sgemm-256", "--threads", "1", "--rounds", "2", "--seconds", "0.05", "--engines", "numpy,nonesuch")
    (row,) = rows
    assert row["numpy"]["median_ms"] > 0
    assert "unknown engine nonesuch" in row["nonesuch"]["error"]
    assert "nonesuch=error: unknown engine nonesuch" in printed


def test_a_worker_asked_nonsense_says_what_it_expects():
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", "--case", "sgemm-256", "--engine", "numpy", "--serve"],
        cwd=ROOT,
        input="time 0.01\nfaster please\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    ready, timed = (json.loads(line) for line in proc.stdout.splitlines())
    assert "times_ms" in timed and len(timed["times_ms"]) >= 5
    assert proc.returncode != 0 and "expected 'time SECONDS' or 'quit'" in proc.stderr
