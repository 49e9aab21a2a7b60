"""What makes the c target's vector-extension branch fast under GCC: a register tile's
accumulators declared as an array of vectors (kept in registers, where a float array written
through memcpy stays in memory), exp/erf/tanh helpers on whole vectors, and the host's
instruction sets and contraction flags, which a compiler that rejects them builds without."""

import os
import re
import shutil
import stat

import numpy as np
import pytest

import lamina
import lamina.targets.c_target as c_target
from lamina.targets.host import VECTOR_BITS_VARIABLE, detected_host

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no cc")

MATMUL = """
func.func @mm(%x: tensor<64x64xf32>, %w: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %y = graph.matmul %x, %w
  func.return %y : tensor<64x64xf32>
}"""


def vector_branch(source: str) -> str:
    return source.split("#if defined(__GNUC__) && !defined(LAMINA_PORTABLE_C)\ntypedef")[1].split("\n#else\n")[0]


def inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((64, 64)).astype(np.float32), rng.standard_normal((64, 64)).astype(np.float32)


def test_register_tile_accumulators_are_an_array_of_vectors(avx2_vectors):
    compiled = lamina.compile(MATMUL, target="c", threads=1)
    branch = vector_branch(compiled.source)
    accumulators = re.findall(r"v8_float (local\d+)\[(\d+)\];", branch)
    assert accumulators, "the 6 x 16 tile's accumulators: 12 vectors"
    name = accumulators[0][0]
    assert f"memcpy(&{name}" not in branch and re.search(rf"{name}\[\(.*\) / 8\] = v\d+;", branch)
    assert re.search(rf"float {name}\[", compiled.source.split("\n#else\ntypedef struct")[1]), "the portable branch keeps a float array"
    x, w = inputs()
    np.testing.assert_allclose(compiled(x, w)[0], x @ w, rtol=1e-4, atol=1e-4)


def compiler_logging_its_arguments(tmp_path, refuse: str | None = None) -> tuple[str, str]:
    """A `cc` that appends its arguments to a log and runs the real one (or fails when
    given `refuse`, as a compiler that does not know that flag)."""
    log = tmp_path / "cc.log"
    script = tmp_path / "logging-cc"
    check = f'case " $* " in *" {refuse} "*) echo "unknown option {refuse}" >&2; exit 1;; esac\n' if refuse else ""
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{check}exec {shutil.which("cc")} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), str(log)


def test_builds_for_the_host_with_contraction(tmp_path, monkeypatch):
    cc, log = compiler_logging_its_arguments(tmp_path)
    monkeypatch.setenv("CC", cc)
    monkeypatch.setattr(c_target, "_build_dir", lambda: str(tmp_path))
    compiled = lamina.compile(MATMUL, target="c", threads=1)
    (arguments,) = open(log).read().splitlines()
    assert "-march=native" in arguments.split() and "-ffp-contract=fast" in arguments.split()
    x, w = inputs()
    np.testing.assert_allclose(compiled(x, w)[0], x @ w, rtol=1e-4, atol=1e-4)


def test_narrowed_vectors_narrow_the_instruction_sets(tmp_path, monkeypatch):
    if not detected_host().triple.startswith("x86_64"):
        pytest.skip("x86-64 flags")
    monkeypatch.setenv(VECTOR_BITS_VARIABLE, "128")
    assert {"-mno-avx512f", "-mno-avx"} <= set(c_target.host_c_flags())
    monkeypatch.setenv(VECTOR_BITS_VARIABLE, str(detected_host().vector_bits))
    assert "-mno-avx" not in c_target.host_c_flags()


def test_a_compiler_rejecting_the_host_flags_builds_without_them(tmp_path, monkeypatch):
    cc, log = compiler_logging_its_arguments(tmp_path, refuse="-march=native")
    monkeypatch.setenv("CC", cc)
    monkeypatch.setattr(c_target, "_build_dir", lambda: str(tmp_path))
    compiled = lamina.compile(MATMUL, target="c", threads=1)
    first, second = open(log).read().splitlines()
    assert "-march=native" in first.split() and "-march=native" not in second.split()
    x, w = inputs()
    np.testing.assert_allclose(compiled(x, w)[0], x @ w, rtol=1e-4, atol=1e-4)


def test_exported_library_is_built_with_the_host_flags(tmp_path, monkeypatch):
    cc, log = compiler_logging_its_arguments(tmp_path)
    compiled = lamina.compile(MATMUL, target="c", threads=1)
    monkeypatch.setenv("CC", cc)
    path = compiled.export(os.path.join(tmp_path, "mm.so"))
    assert "-march=native" in open(log).read().split()
    x, w = inputs()
    np.testing.assert_allclose(lamina.load(path, threads=1)(x, w)[0], x @ w, rtol=1e-4, atol=1e-4)
