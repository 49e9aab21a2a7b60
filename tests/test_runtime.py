"""The runtime: inputs by position, by name or through DLPack; clear errors for wrong inputs;
export to a .so with a C header that loads in a fresh process (with Python or from C), the C
target's source export, and the ABI check on load."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina
from lamina.ir.diagnostics import LaminaError

SOURCE = """
func.func @model(%x: tensor<n x 8 x f32>, %b: tensor<8xf32>) -> tensor<n x 8 x f32> {
  %w = graph.const dense<0.5> : tensor<8x8xf32>
  %h = graph.matmul %x, %w
  %y = graph.add %h, %b
  %r = graph.relu %y
  func.return %r : tensor<n x 8 x f32>
}
"""


@pytest.fixture(scope="module")
def model():
    return lamina.compile(SOURCE, threads=2)


def expected(x, b):
    return np.maximum(x @ np.full((8, 8), 0.5, np.float32) + b, 0)


def test_positional_named_and_dlpack_inputs(model):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 8)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    want = expected(x, b)
    np.testing.assert_allclose(model(x, b)[0], want, rtol=1e-5)
    np.testing.assert_allclose(model({"x": x, "b": b})[0], want, rtol=1e-5)
    np.testing.assert_allclose(model(b=b, x=x)[0], want, rtol=1e-5)

    class DLPackOnly:
        def __init__(self, a):
            self.a = a

        def __dlpack__(self, **kw):
            return self.a.__dlpack__(**kw)

        def __dlpack_device__(self):
            return self.a.__dlpack_device__()

    np.testing.assert_allclose(model(DLPackOnly(x), b)[0], want, rtol=1e-5)
    # A strided view is accepted and read correctly.
    wide = rng.standard_normal((5, 16)).astype(np.float32)
    np.testing.assert_allclose(model(wide[:, ::2], b)[0], expected(wide[:, ::2], b), rtol=1e-5)


@pytest.mark.parametrize(
    "args,match",
    [
        ((np.zeros((3, 8), np.float64), np.zeros(8, np.float32)), "input #0 'x' must have dtype float32"),
        ((np.zeros((3, 7), np.float32), np.zeros(8, np.float32)), "input #0 'x' axis 1 must be 8"),
        ((np.zeros(8, np.float32), np.zeros(8, np.float32)), "must have rank 2"),
        ((np.zeros((3, 8), np.float32),), "takes 2 inputs"),
    ],
)
def test_wrong_inputs_name_the_input(model, args, match):
    with pytest.raises(LaminaError, match=match):
        model(*args)


def test_unknown_and_missing_names(model):
    with pytest.raises(LaminaError, match="unknown input 'y'"):
        model(y=np.zeros((1, 8), np.float32), b=np.zeros(8, np.float32))
    with pytest.raises(LaminaError, match="missing input 'b'"):
        model(x=np.zeros((1, 8), np.float32))


def test_export_loads_in_a_fresh_process_and_from_c(model, tmp_path):
    so = str(tmp_path / "model.so")
    model.export(so)
    header = (tmp_path / "model.h").read_text()
    assert "lamina_run" in header and "symbols (int64, in this order): n" in header
    script = textwrap.dedent(
        f"""
        import numpy as np, lamina
        m = lamina.load({so!r})
        x = np.arange(24, dtype=np.float32).reshape(3, 8); b = np.ones(8, np.float32)
        print(float(m(x, b)[0].sum()))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    x = np.arange(24, dtype=np.float32).reshape(3, 8)
    assert abs(float(proc.stdout) - float(expected(x, np.ones(8, np.float32)).sum())) < 1e-2
    main_c = tmp_path / "main.c"
    main_c.write_text(
        textwrap.dedent(
            """
            #include <stdio.h>
            #include <stdlib.h>
            #include "model.h"
            int main(void) {
              float x[2 * 8], b[8], y[2 * 8];
              for (int i = 0; i < 16; i++) x[i] = (float)i;
              for (int i = 0; i < 8; i++) b[i] = 1.0f;
              int64_t syms[1] = {2};
              void *buffers[3] = {x, b, y};
              void *ws = aligned_alloc(64, (size_t)((lamina_workspace_bytes(syms) + 64) / 64 * 64));
              if (lamina_abi_version() != LAMINA_ABI_VERSION) return 2;
              if (lamina_run(buffers, syms, ws, 1) != 0) return 3;
              double s = 0; for (int i = 0; i < 16; i++) s += y[i];
              printf("%.3f\\n", s);
              return 0;
            }
            """
        )
    )
    exe = tmp_path / "main"
    subprocess.run(["cc", "-o", str(exe), str(main_c), so, f"-Wl,-rpath,{tmp_path}", "-I", str(tmp_path)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    x2 = np.arange(16, dtype=np.float32).reshape(2, 8)
    assert abs(float(out) - float(expected(x2, np.ones(8, np.float32)).sum())) < 1e-2


def test_c_target_exports_source_and_header(tmp_path):
    m = lamina.compile(SOURCE, target="c")
    x = np.random.default_rng(2).standard_normal((4, 8)).astype(np.float32)
    b = np.ones(8, np.float32)
    np.testing.assert_allclose(m(x, b)[0], expected(x, b), rtol=1e-5)
    out = m.export(str(tmp_path / "src"))
    assert os.path.exists(os.path.join(out, "model.c")) and os.path.exists(os.path.join(out, "model.h"))
    # The exported source builds with any C99 compiler on its own.
    subprocess.run(["cc", "-std=c99", "-c", "-fopenmp", "-o", str(tmp_path / "m.o"), os.path.join(out, "model.c")], check=True, capture_output=True)


def test_load_refuses_other_libraries(tmp_path):
    src = tmp_path / "other.c"
    src.write_text("int lamina_abi_version(void) { return 999; }\n")
    so = tmp_path / "other.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    with pytest.raises(LaminaError, match="ABI 999"):
        lamina.load(str(so))
    plain = tmp_path / "plain.so"
    (tmp_path / "plain.c").write_text("int f(void) { return 1; }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(plain), str(tmp_path / "plain.c")], check=True)
    with pytest.raises(LaminaError, match="not a lamina module"):
        lamina.load(str(plain))


def test_thread_count_follows_the_option_and_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert lamina.compile(SOURCE).threads == 1
    assert lamina.compile(SOURCE, threads=2).threads == 2
    with pytest.raises(LaminaError):
        lamina.compile(SOURCE, threads=0)
