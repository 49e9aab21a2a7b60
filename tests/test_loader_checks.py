"""`lamina.load` refuses, with a message naming the file and never a crash or a traceback,
everything that is not a complete lamina module of this ABI: garbage bytes, a truncated export,
a directory, a foreign library, a library missing some ABI functions, a wrong ABI version and
unreadable metadata. A good export still loads and computes. Files written by lamina get the
permissions any new file would (not mkstemp's private 0600)."""

import os
import re
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina
from lamina.ir.diagnostics import LaminaError
from lamina.runtime.loader import check_lamina_library
from lamina.targets.linker import link_shared
from lamina.tools.atomic_write import process_umask, write_text_atomically

SOURCE = """
func.func @scale(%x: tensor<n x 4 x f32>) -> tensor<n x 4 x f32> {
  %two = graph.const dense<2.0> : tensor<f32>
  %y = graph.mul %x, %two
  func.return %y : tensor<n x 4 x f32>
}
"""

FULL_ABI_C = """
#include <stdint.h>
int32_t lamina_abi_version(void) { return %(version)d; }
const char *lamina_metadata(void) { return %(metadata)s; }
int64_t lamina_workspace_bytes(const int64_t *s) { (void)s; return 0; }
int32_t lamina_run(void *const *b, const int64_t *s, void *w, int32_t t) { (void)b; (void)s; (void)w; (void)t; return 0; }
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    so = directory / "scale.so"
    lamina.compile(SOURCE, threads=1).export(str(so))
    return so


def build_library(tmp_path, name: str, source: str):
    c_file = tmp_path / f"{name}.c"
    c_file.write_text(source)
    so = tmp_path / f"{name}.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(c_file)], check=True, capture_output=True)
    return so


def refusal(path) -> str:
    """The message `lamina.load` refuses `path` with, checked in a fresh process so that a file
    that crashed the dynamic loader would fail this test instead of the test run."""
    script = textwrap.dedent(
        f"""
        import lamina
        try:
            lamina.load({str(path)!r})
        except lamina.LaminaError as e:
            print("REFUSED", e)
        else:
            print("LOADED")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"loading {path} ended the process with status {proc.returncode}: {proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.startswith("REFUSED"), proc.stdout
    return proc.stdout


def test_a_good_export_loads_and_computes(exported):
    model = lamina.load(str(exported))
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(model(x)[0], 2 * x)
    check_lamina_library(str(exported))  # passes silently


def test_garbage_bytes_are_not_a_shared_library(tmp_path):
    garbage = tmp_path / "garbage.so"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "garbage.so is not a shared library (no ELF header)" in refusal(garbage)
    text = tmp_path / "notes.so"
    text.write_text("hello\n")
    assert "not a shared library" in refusal(text)


@pytest.mark.parametrize("keep", [16, 40, 200, 3000, 0.6, 0.97])
def test_a_truncated_export_is_refused_not_a_crash(exported, tmp_path, keep):
    data = exported.read_bytes()
    size = keep if isinstance(keep, int) else int(len(data) * keep)
    cut = tmp_path / "cut.so"
    cut.write_bytes(data[:size])
    message = refusal(cut)
    assert "cut.so is truncated or corrupt" in message, message


def test_an_elf_object_that_is_not_a_shared_library(tmp_path):
    c_file = tmp_path / "part.c"
    c_file.write_text("int f(void) { return 1; }\n")
    obj = tmp_path / "part.so"
    subprocess.run(["cc", "-c", "-fPIC", "-o", str(obj), str(c_file)], check=True)
    assert "is an ELF file but not a shared library" in refusal(obj)


def test_directories_and_missing_files(tmp_path):
    with pytest.raises(LaminaError, match="is a directory, not a shared library"):
        lamina.load(str(tmp_path))
    with pytest.raises(LaminaError, match="no such file"):
        lamina.load(str(tmp_path / "absent.so"))


def test_a_foreign_library_is_refused_before_it_is_loaded(tmp_path):
    # A constructor that would print if the library were mapped and run.
    so = build_library(
        tmp_path,
        "foreign",
        '#include <stdio.h>\n__attribute__((constructor)) static void hello(void) { puts("RAN"); }\nint f(void) { return 1; }\n',
    )
    message = refusal(so)
    assert "foreign.so is not a lamina module (it does not export lamina_abi_version)" in message
    assert "RAN" not in message


def test_a_library_missing_some_abi_functions(tmp_path):
    so = build_library(tmp_path, "partial", "int lamina_abi_version(void) { return 1; }\n")
    message = refusal(so)
    assert "partial.so is not a complete lamina module: it does not export lamina_metadata, lamina_workspace_bytes, lamina_run" in message


def test_a_wrong_abi_version_names_both_versions(tmp_path):
    so = build_library(tmp_path, "future", FULL_ABI_C % {"version": 999, "metadata": '"{}"'})
    with pytest.raises(LaminaError, match=r"future.so was built for lamina ABI 999; this lamina speaks ABI 1"):
        lamina.load(str(so))
    # A module of another version is reported as such even when its other functions differ.
    only_version = build_library(tmp_path, "older", "int lamina_abi_version(void) { return 0; }\n")
    with pytest.raises(LaminaError, match=r"older.so was built for lamina ABI 0"):
        lamina.load(str(only_version))


@pytest.mark.parametrize(
    "metadata,message",
    [
        ("0", "lamina_metadata returned NULL"),
        ('"{not json"', "does not carry valid lamina metadata"),
        ('"{\\"magic\\": \\"other\\"}"', "does not carry valid lamina metadata (not a lamina module)"),
        ('"{\\"magic\\": \\"lamina-module\\", \\"abi\\": 1}"', "does not carry valid lamina metadata"),
    ],
)
def test_unreadable_metadata_is_refused(tmp_path, metadata, message):
    so = build_library(tmp_path, "meta", FULL_ABI_C % {"version": 1, "metadata": metadata})
    with pytest.raises(LaminaError, match=re.escape(message)):
        lamina.load(str(so))


def test_exports_and_written_files_are_readable_like_any_new_file(tmp_path):
    umask = os.umask(0o022)
    try:
        lamina.compile(SOURCE, target="c", threads=1).export(str(tmp_path / "src"))
        for name in ("scale.c", "scale.h"):
            assert stat.S_IMODE((tmp_path / "src" / name).stat().st_mode) == 0o644
        out = tmp_path / "out.mlir"
        write_text_atomically(str(out), "x\n")
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        os.chmod(out, 0o640)
        write_text_atomically(str(out), "y\n")  # replacing a file keeps its mode
        assert stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_text() == "y\n"
    finally:
        os.umask(umask)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o755), (0o077, 0o700), (0o002, 0o775)])
def test_linked_libraries_get_the_mode_cc_gives_a_new_one(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        assert process_umask() == umask
        so = tmp_path / "plain.so"
        link_shared(str(so), c_sources=["int lamina_probe(void) { return 1; }\n"], openmp=False)
        assert stat.S_IMODE(so.stat().st_mode) == mode
        exported = tmp_path / "scale.so"
        lamina.compile(SOURCE, threads=1).export(str(exported))
        assert stat.S_IMODE(exported.stat().st_mode) == mode
    finally:
        os.umask(previous)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(lamina.load(str(exported))(x)[0], 2 * x)
