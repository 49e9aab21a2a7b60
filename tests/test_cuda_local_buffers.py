"""A local cache buffer of the host function on the cuda target lives in GPU global memory: it is
cudaMalloc'ed where declared, handed to the kernels that fill and read it, and freed on return
(before, the emitter refused the schedule). The source passes `nvcc -c` when nvcc is installed
and computes the product where a GPU is."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import StringAttr

from lamina.compiler import graph_function, run_passes, signature_of
from lamina.parser import parse_module
from lamina.targets.cuda_target import build_cuda_module
from lamina.targets.llvm_target import ENTRY_ATTR

PROGRAM = """
func.func @mm(%a: tensor<4x6xf32>, %b: tensor<6x5xf32>) -> tensor<4x5xf32> {
  %c = graph.matmul %a, %b : tensor<4x5xf32>
  func.return %c : tensor<4x5xf32>
}
schedule.sequence @mm () {
  %m = schedule.get_block "matmul"
  %cache = schedule.cache_read %m {index = 1}
  %i, %j, %k = schedule.get_loops %m : index, index, index
  schedule.bind %i {thread = "blockIdx.x"}
  schedule.bind %j {thread = "threadIdx.x"}
}
"""


def cuda_module(text: str):
    module = parse_module(text, "cache.mlir")
    signature = signature_of(graph_function(module))
    run_passes(module, ["lower-graph-to-loop", "apply-schedule", "lower-loop-to-device{target=cuda}"])
    entry = next(op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "mm")
    entry.attributes[ENTRY_ATTR] = StringAttr("")
    return build_cuda_module(module, signature)


def gpu_present() -> bool:
    return shutil.which("nvidia-smi") is not None and subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def test_the_cache_is_allocated_on_the_gpu_and_freed():
    source = cuda_module(PROGRAM).source
    definition = re.search(r"^static cudaError_t lamina_fn_mm\(.*\) \{$", source, re.M)
    host = source[definition.end() : source.index("\n}\n", definition.end())]
    malloc = next(line.strip() for line in host.splitlines() if "cudaMalloc" in line)
    # the 6x5 copy of %b, and a failed allocation leaves through the epilogue that frees
    assert malloc.endswith(", 30 * sizeof(float))) != cudaSuccess) goto lamina_done;")
    buffer = malloc.split("&")[1].split(",")[0]
    launches = [line for line in host.splitlines() if "<<<" in line]
    assert len(launches) == 2 and all(buffer in line for line in launches)  # filled, then read
    assert "<<<dim3(4, 1, 1), dim3(5, 1, 1)>>>" in launches[1]
    assert host.index(f"cudaFree({buffer});") > host.index("lamina_done:") > host.index(launches[1])
    assert host.rstrip().endswith("return lamina_err;")
    assert f"float {buffer}[" not in source  # never a host stack array


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_nvcc_compiles_it_and_a_gpu_runs_it():
    module = cuda_module(PROGRAM)
    assert len(module.object_file()) > 0
    if gpu_present():
        rng = np.random.default_rng(0)
        a = rng.standard_normal((4, 6)).astype(np.float32)
        b = rng.standard_normal((6, 5)).astype(np.float32)
        np.testing.assert_allclose(module(a, b)[0], a @ b, rtol=1e-5, atol=1e-5)
