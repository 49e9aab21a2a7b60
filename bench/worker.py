"""Times one engine on one case in its own process (engines with spinning thread pools skew
each other when they share one).

With `--serve` the worker stays up between rounds, so the bench can interleave engines in short
turns: it prints one JSON line when it is ready (compile time, workspace), then answers each
`time SECONDS` line on stdin with one JSON line of call times, and `quit` with its peak memory.
Without it, it times one round and prints everything as one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

# Thread counts are fixed before numpy (imported below, and by bench.models) starts OpenBLAS's
# pool: set later, numpy's BLAS ran on every core whatever --threads said.
for _i, _arg in enumerate(sys.argv):
    if _arg == "--threads" and _i + 1 < len(sys.argv):
        os.environ["OMP_NUM_THREADS"] = sys.argv[_i + 1]
        os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[_i + 1]

import numpy as np  # noqa: E402

from bench.models import CASES  # noqa: E402


# "lamina-c" (opt-in: --engines lamina,lamina-c,onnxruntime) runs the c target's build of the
# model, to compare the C source a user exports with the llvm target's code.
LAMINA_TARGETS = {"lamina": "llvm", "lamina-c": "c"}


def make_runner(engine: str, model, inputs: dict[str, np.ndarray], threads: int):
    info: dict[str, float] = {}
    if engine == "onnxruntime":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        start = time.perf_counter()
        session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        info["compile_s"] = time.perf_counter() - start
        return (lambda: session.run(None, inputs)), info
    if engine == "numpy":
        (x,) = inputs.values()
        weights = {t.name: t for t in model.graph.initializer}
        if len(model.graph.node) != 1 or model.graph.node[0].op_type != "MatMul":
            return None, info
        from onnx import numpy_helper

        w = numpy_helper.to_array(weights[model.graph.node[0].input[1]])
        return (lambda: x @ w), info
    if engine in LAMINA_TARGETS:
        import lamina

        start = time.perf_counter()
        compiled = lamina.compile(model, threads=threads, target=LAMINA_TARGETS[engine])
        info["compile_s"] = time.perf_counter() - start
        ordered = [inputs[n] for n in compiled.input_names]
        symbols = {}
        for spec, arr in zip(compiled.signature.inputs, ordered):
            for d, size in zip(spec.shape, arr.shape):
                if not isinstance(d, int) and d.as_symbol():
                    symbols[d.as_symbol()] = size
        info["peak_workspace_bytes"] = float(compiled.peak_workspace_bytes(**symbols))
        return (lambda: compiled(*ordered)), info
    raise SystemExit(f"unknown engine {engine}")


def time_calls(run, seconds: float) -> list[float]:
    """Call times in ms over `seconds`, after a short warm-up (the thread pool may have gone to
    sleep since the last round)."""
    warm_until = time.perf_counter() + min(0.3, seconds / 3)
    run()
    while time.perf_counter() < warm_until:
        run()
    times = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop or len(times) < 5:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return [t * 1e3 for t in times]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(run, info: dict) -> None:
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["time"] and len(words) == 2:
            print(json.dumps({"times_ms": time_calls(run, float(words[1]))}), flush=True)
        elif words == ["quit"]:
            print(json.dumps({"max_rss_mb": peak_rss_mb()}), flush=True)
            return
        else:
            raise SystemExit(f"bench.worker: unknown command {line.strip()!r} (expected 'time SECONDS' or 'quit')")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--case", required=True)
    p.add_argument("--engine", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--serve", action="store_true", help="time rounds on request from stdin")
    args = p.parse_args()
    model, inputs = CASES[args.case].build()
    run, info = make_runner(args.engine, model, inputs, args.threads)
    if run is None:
        print(json.dumps({"skipped": True}), flush=True)
        return
    run()
    if args.serve:
        serve(run, info)
        return
    info["times_ms"] = time_calls(run, args.seconds)
    info["max_rss_mb"] = peak_rss_mb()
    print(json.dumps(info))


if __name__ == "__main__":
    main()
