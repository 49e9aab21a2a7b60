"""`python -m bench`: lamina against onnxruntime (and numpy's BLAS for GEMM), each engine timed in
its own process, rounds interleaved, medians reported as a table of ms and ratios plus JSON.

Each engine's process stays up for all rounds of a case and the engines take short turns, so a
spell in which this shared machine runs slow (seen here: every engine 1.5-2x slower at two
threads for seconds at a time) falls on all of them, not on one engine's process."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.models import CASES, QUICK

ENGINES = ("lamina", "onnxruntime", "numpy")


# Between turns: the engine that just ran lets its spinning threads go idle.
TURN_PAUSE_S = 0.05


class Worker:
    """One engine's `bench.worker --serve` process, up for all rounds of one case."""

    def __init__(self, case: str, engine: str, threads: int):
        env = dict(os.environ)
        env.pop("OPENBLAS_CORETYPE", None)  # a slow generic BLAS kernel would misrepresent numpy
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", "--case", case, "--engine", engine, "--threads", str(threads), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        self.ready = self._reply()
        self.alive = "error" not in self.ready and not self.ready.get("skipped")

    def _reply(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        self.proc.wait()
        self.stderr.seek(0)
        return {"error": (self.stderr.read().strip().splitlines() or ["failed"])[-1]}

    def request(self, command: str) -> dict:
        if not self.alive:
            return {}
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        reply = self._reply()
        self.alive = "error" not in reply
        return reply

    def close(self) -> dict:
        reply = self.request("quit")
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()
        self.stderr.close()
        return reply


def run_case(case: str, engines: list[str], threads: int, rounds: int, seconds: float) -> dict[str, list[dict]]:
    workers = {}
    try:
        for engine in engines:
            workers[engine] = Worker(case, engine, threads)
        raw = {e: [w.ready] for e, w in workers.items()}
        for r in range(rounds):
            for engine in engines if r % 2 == 0 else list(reversed(engines)):
                if workers[engine].alive:
                    time.sleep(TURN_PAUSE_S)
                    raw[engine].append(workers[engine].request(f"time {seconds}"))
    finally:
        closed = {e: w.close() for e, w in workers.items()}
    for engine, reply in closed.items():
        raw[engine].append(reply)
    return raw


def summarize(results: list[dict]) -> dict:
    times = [t for r in results if "times_ms" in r for t in r["times_ms"]]
    if not times:
        errors = [r.get("error") for r in results if r.get("error")]
        return {"error": errors[0] if errors else None, "skipped": any(r.get("skipped") for r in results)}
    times.sort()
    out = {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))]}
    for key in ("compile_s", "peak_workspace_bytes", "max_rss_mb"):
        vals = [r[key] for r in results if key in r]
        if vals:
            out[key] = statistics.median(vals)
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("cases", nargs="*", help=f"cases to run (default: all). Known: {', '.join(CASES)}")
    p.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    p.add_argument("--threads", default="1,2", help="thread counts, comma separated")
    p.add_argument("--rounds", type=int, default=10, help="interleaved rounds per engine")
    p.add_argument("--seconds", type=float, default=0.3, help="timed seconds per round")
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--json", default="bench-results.json", help="where to write the results")
    args = p.parse_args()
    names = args.cases or (QUICK if args.quick else list(CASES))
    engines = args.engines.split(",")
    table = []
    for name in names:
        for threads in (int(t) for t in args.threads.split(",")):
            raw = run_case(name, engines, threads, args.rounds, args.seconds)
            row = {"case": name, "threads": threads, **{e: summarize(raw[e]) for e in engines}}
            table.append(row)
            print(format_row(row, engines), flush=True)
    with open(args.json + ".tmp", "w") as f:
        json.dump(table, f, indent=2)
    os.replace(args.json + ".tmp", args.json)
    print(f"results written to {args.json}")


def format_row(row: dict, engines: list[str]) -> str:
    parts = [f"{row['case']:<24} t={row['threads']}"]
    base = row.get("lamina", {}).get("median_ms")
    for e in engines:
        r = row[e]
        if "median_ms" in r:
            ratio = f" (x{r['median_ms'] / base:.2f})" if base and e != "lamina" else ""
            parts.append(f"{e}={r['median_ms']:.3f}ms{ratio}")
        elif r.get("skipped"):
            parts.append(f"{e}=-")
        else:
            parts.append(f"{e}=error: {r.get('error')}")
    comp = row.get("lamina", {}).get("compile_s")
    if comp is not None:
        parts.append(f"compile={comp:.2f}s")
    return "  ".join(parts)


if __name__ == "__main__":
    main()
