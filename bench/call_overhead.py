"""`python -m bench.call_overhead`: what one call from Python costs, lamina's `CompiledModel`
against onnxruntime's `session.run`, on models so small that the call path is all there is.

Both engines run in this one process, one thread each, rounds interleaved; each round times a
batch of calls and the median per-call time over the rounds is printed in microseconds."""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

import lamina


def tiny_add(batch: int | str) -> onnx.ModelProto:
    """y = a + b on a 1x4 (or n x 4) float tensor: one elementwise op, nothing to compute."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [batch, 4]) for n in ("a", "b")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def per_call_us(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=41)
    p.add_argument("--calls", type=int, default=2000, help="calls per timed round")
    p.add_argument("--no-onnxruntime", action="store_true")
    p.add_argument("--mlp", action="store_true", help="also the batch-1 MLP of `python -m bench` (call plus compute)")
    args = p.parse_args()

    add_inputs = {"a": np.ones((1, 4), np.float32), "b": np.full((1, 4), 2.0, np.float32)}
    cases = {"add 1x4 static": (tiny_add(1), add_inputs), "add n x 4 symbolic": (tiny_add("n"), add_inputs)}
    if args.mlp:
        from bench.models import CASES

        cases["mlp batch 1"] = CASES["mlp-b1"].build()
    runners: dict[tuple[str, str], object] = {}
    for case, (model, inputs) in cases.items():
        compiled = lamina.compile(model, threads=1)
        ordered = [inputs[n] for n in compiled.input_names]
        runners[(case, "lamina positional")] = lambda compiled=compiled, ordered=ordered: compiled(*ordered)
        runners[(case, "lamina dict")] = lambda compiled=compiled, inputs=inputs: compiled(inputs)
        if not args.no_onnxruntime:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
            runners[(case, "onnxruntime run")] = lambda session=session, inputs=inputs: session.run(None, inputs)

    for fn in runners.values():  # warm-up: first-call allocations, caches
        per_call_us(fn, 200)
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
    for _ in range(args.rounds):
        for key, fn in runners.items():
            samples[key].append(per_call_us(fn, args.calls))

    print(f"median us/call over {args.rounds} rounds of {args.calls} calls (1 thread)")
    for (case, engine), times in samples.items():
        print(f"  {case:<20} {engine:<18} {statistics.median(times):7.2f}")


if __name__ == "__main__":
    main()
