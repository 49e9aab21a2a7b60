"""Times one engine on one case in its own process (engines with spinning thread pools skew
each other when they share one), and prints one JSON line."""

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
    if engine == "lamina":
        import lamina

        start = time.perf_counter()
        compiled = lamina.compile(model, threads=threads)
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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--case", required=True)
    p.add_argument("--engine", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=1.0)
    args = p.parse_args()
    model, inputs = CASES[args.case].build()
    run, info = make_runner(args.engine, model, inputs, args.threads)
    if run is None:
        print(json.dumps({"skipped": True}))
        return
    run()
    warm_until = time.perf_counter() + min(0.3, args.seconds / 3)
    while time.perf_counter() < warm_until:
        run()
    times = []
    stop = time.perf_counter() + args.seconds
    while time.perf_counter() < stop or len(times) < 5:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    info["times_ms"] = [t * 1e3 for t in times]
    info["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info))


if __name__ == "__main__":
    main()
