"""The LLVM backend: host-tuned optimisation (vector code), JIT calls, and a linked .so."""

import ctypes
import dataclasses

import numpy as np
import pytest

import lamina.targets.host as host_module
from lamina.ir.diagnostics import LaminaError
from lamina.targets.host import host_target
from lamina.targets.linker import link_shared
from lamina.targets.llvm_backend import JitModule, emit_object

SAXPY = """
define void @saxpy(float* noalias %x, float* noalias %y, float %a, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%next, %loop]
  %px = getelementptr float, float* %x, i64 %i
  %py = getelementptr float, float* %y, i64 %i
  %vx = load float, float* %px
  %vy = load float, float* %py
  %m = fmul contract float %vx, %a
  %s = fadd contract float %m, %vy
  store float %s, float* %py
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
"""

SAXPY_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float, ctypes.c_int64)


def test_host_target_reports_vector_width():
    host = host_target()
    assert host.vector_bits in (128, 256, 512)
    assert host.vector_lanes(4) * 32 == host.vector_bits
    assert host.cores >= 1


def test_jit_runs_and_vectorizes_for_the_host():
    jit = JitModule(SAXPY)
    x = np.arange(37, dtype=np.float32)
    y = np.ones(37, dtype=np.float32)
    SAXPY_FN(jit.address("saxpy"))(x.ctypes.data, y.ctypes.data, 2.0, 37)
    np.testing.assert_allclose(y, 2 * np.arange(37) + 1)
    asm = jit.assembly()
    if host_target().vector_bits >= 256:
        assert "ymm" in asm or "zmm" in asm


def test_object_links_into_a_loadable_shared_library(tmp_path):
    out = tmp_path / "saxpy.so"
    link_shared(str(out), objects=[emit_object(SAXPY)])
    lib = ctypes.CDLL(str(out))
    x = np.full(5, 3, dtype=np.float32)
    y = np.zeros(5, dtype=np.float32)
    SAXPY_FN(ctypes.cast(lib.saxpy, ctypes.c_void_p).value)(x.ctypes.data, y.ctypes.data, 0.5, 5)
    np.testing.assert_allclose(y, 1.5)


def test_vector_bits_variable_narrows_the_target_and_its_instruction_sets(monkeypatch):
    wide = dataclasses.replace(host_module.detected_host(), vector_bits=512, features="+avx2,+avx512f,+avx512vl,+fma,-sse4a")
    monkeypatch.setattr(host_module, "detected_host", lambda: wide)
    monkeypatch.setenv("LAMINA_VECTOR_BITS", "256")
    narrowed = host_module.host_target()
    assert narrowed.vector_lanes(4) == 8
    assert (narrowed.vector_registers, narrowed.vector_register_bytes) == (16, 16 * 32)
    assert (wide.vector_registers, wide.vector_register_bytes) == (32, 32 * 64)
    assert narrowed.features == "+avx2,-avx512f,-avx512vl,+fma,-sse4a"
    monkeypatch.setenv("LAMINA_VECTOR_BITS", "128")
    assert host_module.host_target().features == "-avx2,-avx512f,-avx512vl,-fma,-sse4a"
    monkeypatch.setenv("LAMINA_VECTOR_BITS", "512")
    assert host_module.host_target() == wide


@pytest.mark.parametrize("value, message", [("300", "expected 128, 256 or 512"), ("wide", "expected 128, 256 or 512"), ("1024", "expected 128, 256 or 512")])
def test_vector_bits_variable_rejects_what_it_cannot_mean(monkeypatch, value, message):
    monkeypatch.setenv("LAMINA_VECTOR_BITS", value)
    with pytest.raises(LaminaError, match=f"LAMINA_VECTOR_BITS='{value}': {message}"):
        host_target()


def test_vector_bits_variable_cannot_widen_the_host(monkeypatch):
    narrow = dataclasses.replace(host_module.detected_host(), vector_bits=256, cpu="haswell")
    monkeypatch.setattr(host_module, "detected_host", lambda: narrow)
    monkeypatch.setenv("LAMINA_VECTOR_BITS", "512")
    with pytest.raises(LaminaError, match=r"LAMINA_VECTOR_BITS=512: this CPU \(haswell\) has 256-bit vectors at most"):
        host_module.host_target()
