"""The `lamina` command: compile, run, bench and inspect ONNX models (or graph-dialect text IR).

    lamina compile model.onnx -o model.so          lamina compile model.onnx --target c -o out/
    lamina run model.onnx --input x=x.npy --compare onnxruntime
    lamina run model.onnx --bind shape=shape.npy     (specialise on a shape-deciding input)
    lamina bench model.onnx --vs onnxruntime --threads 2 --json
    lamina inspect model.onnx [--print-ir-after NAME] [--dot]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter

import numpy as np

from lamina.ir.diagnostics import LaminaError


class Progress:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, stage: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"[{time.perf_counter() - self.start:6.2f}s] {stage}\n")
            sys.stderr.flush()


def _compile(args, target: str = "llvm"):
    import lamina

    return lamina.compile(
        args.model,
        target=target,
        threads=getattr(args, "threads", None),
        opt_level=getattr(args, "opt_level", 3),
        print_ir_after=set(getattr(args, "print_ir_after", None) or []) or None,
        progress=Progress(args.quiet),
        bind_inputs=parse_bindings(args.bind) or None,
    )


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise LaminaError(f"cannot read {path} as a .npy array: {e}") from None


def parse_bindings(items: list[str] | None) -> dict[str, np.ndarray]:
    """--bind NAME=FILE.npy: the ONNX inputs the model is specialised on (`bind_inputs`)."""
    bound: dict[str, np.ndarray] = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise LaminaError(f"--bind expects NAME=FILE.npy, got '{item}'")
        if name in bound:
            raise LaminaError(f"--bind names '{name}' twice")
        bound[name] = _load_npy(path)
    return bound


def cmd_compile(args) -> int:
    model = _compile(args, args.target)
    out = args.output or (os.path.splitext(os.path.basename(args.model))[0] + (".so" if args.target == "llvm" else "-c"))
    if args.target == "llvm" and not out.endswith(".so"):
        raise LaminaError(f"the llvm target exports a shared library: give -o NAME.so (got '{out}')")
    path = model.export(out)
    progress = Progress(args.quiet)
    progress(f"wrote {path}")
    progress(f"peak workspace: {model.signature.peak_workspace} bytes (intermediates share it by liveness)")
    print(path)
    return 0


def symbol_values(model, inputs: dict[str, np.ndarray]) -> dict[str, int]:
    """The value each symbolic dim takes for these inputs (from the axes it names)."""
    values: dict[str, int] = {}
    for spec in model.signature.inputs:
        for axis, d in enumerate(spec.shape):
            name = None if isinstance(d, int) else d.as_symbol()
            if name is not None and spec.name in inputs:
                values.setdefault(name, int(np.shape(inputs[spec.name])[axis]))
    return values


def random_inputs(model, seed: int = 0, symbols: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    env = dict(symbols or {})
    for s in model.signature.symbols:
        env.setdefault(s, 1)
    out = {}
    for spec in model.signature.inputs:
        shape = spec.concrete_shape(env)
        if np.issubdtype(spec.dtype, np.floating):
            out[spec.name] = rng.standard_normal(shape).astype(spec.dtype)
        elif spec.dtype == np.bool_:
            out[spec.name] = rng.random(shape) < 0.5
        else:
            out[spec.name] = rng.integers(0, 4, size=shape).astype(spec.dtype)
    return out


def parse_inputs(items: list[str], model) -> dict[str, np.ndarray]:
    given = {}
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep:
            raise LaminaError(f"--input expects NAME=FILE.npy, got '{item}'")
        if name not in model.input_names:
            raise LaminaError(f"unknown input '{name}'; inputs are {model.input_names}")
        given[name] = _load_npy(path)
    return given


def parse_symbols(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not value.isdigit():
            raise LaminaError(f"--dim expects NAME=INT, got '{item}'")
        out[name] = int(value)
    return out


def cmd_run(args) -> int:
    model = _compile(args)
    inputs = random_inputs(model, args.seed, parse_symbols(args.dim))
    inputs.update(parse_inputs(args.input, model))
    outputs = model(inputs)
    for name, arr in zip(model.output_names, outputs):
        checksum = float(np.asarray(arr, dtype=np.float64).sum())
        print(f"{name}: shape={list(arr.shape)} dtype={arr.dtype} sum={checksum:.6g}")
    peak = model.peak_workspace_bytes(**symbol_values(model, inputs))
    print(f"peak workspace: {peak} bytes ({model.signature.peak_workspace} planned by liveness)")
    if args.compare == "onnxruntime":
        import onnxruntime as ort

        session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
        # The bound inputs are constants in lamina's model; onnxruntime gets them as inputs.
        expected = session.run(None, {**inputs, **parse_bindings(args.bind)})
        worst_abs = worst_rel = 0.0
        for got, exp in zip(outputs, expected):
            diff = np.abs(got.astype(np.float64) - exp.astype(np.float64))
            worst_abs = max(worst_abs, float(diff.max(initial=0)))
            worst_rel = max(worst_rel, float((diff / np.maximum(np.abs(exp), 1e-12)).max(initial=0)))
        print(f"vs onnxruntime: max abs error {worst_abs:.3g}, max rel error {worst_rel:.3g}")
    return 0


def _time(fn, seconds: float) -> list[float]:
    fn()
    warm_until = time.perf_counter() + min(0.5, seconds / 4)
    while time.perf_counter() < warm_until:
        fn()
    times = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)


def cmd_bench(args) -> int:
    start = time.perf_counter()
    model = _compile(args)
    compile_s = time.perf_counter() - start
    inputs = random_inputs(model, 0, parse_symbols(args.dim))
    ordered = [inputs[n] for n in model.input_names]
    report = {"model": args.model, "threads": model.threads, "compile_s": compile_s}
    peers = {}
    if args.vs == "onnxruntime":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = model.threads
        session = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
        feeds = {**inputs, **parse_bindings(args.bind)}
        peers["onnxruntime"] = lambda: session.run(None, feeds)
    # Rounds alternate between engines so drifts in clock speed hit both alike.
    samples: dict[str, list[float]] = {"lamina": []}
    samples.update({k: [] for k in peers})
    for _ in range(args.rounds):
        samples["lamina"] += _time(lambda: model(*ordered), args.seconds / args.rounds)
        for name, fn in peers.items():
            samples[name] += _time(fn, args.seconds / args.rounds)
    for name, times in samples.items():
        times.sort()
        report[name] = {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))], "runs": len(times)}
    for name in peers:
        report[f"speedup_vs_{name}"] = report[name]["median_ms"] / report["lamina"]["median_ms"]
    report["peak_workspace_bytes"] = model.peak_workspace_bytes(**{s: 1 for s in model.signature.symbols})
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"compile: {compile_s:.2f} s   threads: {model.threads}")
        for name in samples:
            r = report[name]
            print(f"{name:<12} median {r['median_ms']:.3f} ms   p90 {r['p90_ms']:.3f} ms   ({r['runs']} runs)")
        for name in peers:
            print(f"speed-up vs {name}: x{report[f'speedup_vs_{name}']:.2f}")
    return 0


def cmd_inspect(args) -> int:
    if args.model.endswith(".onnx"):
        import onnx

        from lamina.frontend.onnx import load_model_proto

        proto = load_model_proto(args.model)
        hist = Counter(n.op_type for n in proto.graph.node)
        params = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
        opsets = ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in proto.opset_import)
        print(f"{args.model}: {len(proto.graph.node)} nodes, {params} parameters, opsets {opsets}")
        for op, count in hist.most_common():
            print(f"  {op:<28} {count}")
        del onnx
    from lamina.compiler import to_graph_module

    module = to_graph_module(args.model, parse_bindings(args.bind) or None)
    if args.dot:
        from lamina.tools.dot import graph_to_dot

        print(graph_to_dot(module))
        return 0
    if args.print_ir_after:
        from lamina.compiler import pipeline, run_passes

        stages = pipeline(args.opt_level, 1)
        run_passes(module, stages, set(args.print_ir_after), Progress(args.quiet))
        return 0
    from lamina.ir.printer import print_module

    if args.print_ir:
        print(print_module(module))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lamina", description="Compile, run, benchmark and inspect models with lamina.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, threads=True):
        sp.add_argument("model", help="an .onnx model or a .mlir file in the graph dialect")
        sp.add_argument("--opt-level", type=int, default=3, choices=[0, 1, 2, 3])
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
        sp.add_argument(
            "--bind",
            action="append",
            metavar="NAME=FILE.npy",
            help="specialise the ONNX model on this input's value (a shape, axes, sizes ... fed as an input): it becomes a constant and leaves the signature",
        )
        if threads:
            sp.add_argument("--threads", type=int, default=None, help="threads (default: OMP_NUM_THREADS or all cores)")

    c = sub.add_parser("compile", help="compile to a shared library or C source")
    common(c)
    c.add_argument("-o", "--output", help="NAME.so (llvm) or a directory (c)")
    c.add_argument("--target", default="llvm", choices=["llvm", "c"])
    c.add_argument("--print-ir-after", action="append", metavar="PASS")
    c.set_defaults(run=cmd_compile)

    r = sub.add_parser("run", help="run once on given or random inputs")
    common(r)
    r.add_argument("--input", action="append", metavar="NAME=FILE.npy")
    r.add_argument("--dim", action="append", metavar="SYMBOL=INT", help="size of a symbolic dim for random inputs (default 1)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--compare", choices=["onnxruntime"])
    r.set_defaults(run=cmd_run)

    b = sub.add_parser("bench", help="latency against a peer, measured in the same run")
    common(b)
    b.add_argument("--vs", choices=["onnxruntime", "none"], default="onnxruntime")
    b.add_argument("--seconds", type=float, default=3.0)
    b.add_argument("--rounds", type=int, default=3)
    b.add_argument("--dim", action="append", metavar="SYMBOL=INT")
    b.add_argument("--json", action="store_true")
    b.set_defaults(run=cmd_bench)

    i = sub.add_parser("inspect", help="op histogram, parameters and IR")
    common(i, threads=False)
    i.add_argument("--print-ir", action="store_true", help="print the imported graph IR")
    i.add_argument("--print-ir-after", action="append", metavar="PASS", help="IR after a compile stage ('all' for every one)")
    i.add_argument("--dot", action="store_true", help="Graphviz picture of the graph")
    i.set_defaults(run=cmd_inspect)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except LaminaError as e:
        sys.stderr.write(e.render() + "\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if os.environ.get("LAMINA_DEBUG"):
            raise
        sys.stderr.write(f"lamina: internal error: {type(e).__name__}: {e} (set LAMINA_DEBUG=1 for a traceback)\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
