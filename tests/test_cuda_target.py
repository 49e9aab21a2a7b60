"""The cuda target: loops bound to blocks/threads become __global__ kernels and launches; the
source passes `nvcc -c` when nvcc is installed, and runs where an NVIDIA GPU is."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import lamina
from lamina.interpreter.graph import run_function
from lamina.testing import graph_functions, inputs_for

SOURCE = """
func.func @net(%x: tensor<n x 64 x f32>, %w: tensor<64x32xf32>) -> tensor<n x 32 x f32> {
  %h = graph.matmul %x, %w
  %b = graph.const dense<0.5> : tensor<32xf32>
  %y = graph.add %h, %b
  %r = graph.relu %y
  func.return %r : tensor<n x 32 x f32>
}
"""

HAS_NVCC = shutil.which("nvcc") is not None


def gpu_present() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def test_kernels_and_launches_are_emitted(tmp_path):
    module = lamina.compile(SOURCE, target="cuda")
    src = module.source
    assert src.count("__global__ void") >= 2
    assert "<<<dim3(32, 1, 1)" in src  # the 32 output columns over blocks
    assert "blockIdx.x" in src and 'extern "C" int32_t lamina_run' in src
    out = module.export(str(tmp_path))
    assert (tmp_path / "net.cu").exists() and (tmp_path / "net.h").exists() and out == str(tmp_path)


@pytest.mark.skipif(not HAS_NVCC, reason="nvcc is not installed")
def test_nvcc_compiles_the_source():
    assert len(lamina.compile(SOURCE, target="cuda").object_file()) > 0


@pytest.mark.skipif(not HAS_NVCC, reason="nvcc is not installed")
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(graph_functions(max_ops=3))
def test_random_programs_compile_with_nvcc(module):
    compiled = lamina.compile(module, target="cuda")
    assert len(compiled.object_file()) > 0
    if gpu_present():
        inputs = inputs_for(module, seed=0, symbols={"n": 3})
        for got, want in zip(compiled(*inputs), run_function(module, *inputs)):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_every_cuda_call_that_can_fail_is_checked():
    # The weights constant lives in __device__ memory; the host function asks for its address.
    src = lamina.compile(SOURCE, target="cuda").source
    calls = ("cudaMalloc(", "cudaGetSymbolAddress(", "cudaMemcpy(", "lamina_fn_net(")
    checked = 0
    for line in src.splitlines():
        stripped = line.strip()
        if stripped.startswith(("static ", "__global__ ")):
            continue  # prototypes and definitions
        for call in calls:
            if call in stripped:
                assert re.search(r"if \(\(lamina_err = " + re.escape(call), stripped), stripped
                assert stripped.endswith(("goto fail;", "goto lamina_done;", "goto fail; }")), stripped
                checked += 1
    assert "cudaGetSymbolAddress(" in src and checked >= 5
    # The host function reports failure to lamina_run, which turns it into a failed status.
    assert re.search(r"^static cudaError_t lamina_fn_net\(", src, re.M)
    assert "if ((lamina_err = lamina_fn_net(" in src and "return lamina_err;" in src
