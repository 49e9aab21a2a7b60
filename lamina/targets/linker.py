"""Link object files or C sources into a shared library with the system C compiler, writing the
library atomically (a failed link never leaves a half-written file at the destination)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from lamina.ir.diagnostics import LaminaError
from lamina.tools.atomic_write import process_umask


def c_compiler() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    raise LaminaError("no C compiler found (tried $CC, cc, gcc, clang): one is needed to build a shared library")


def link_shared(out_path: str, objects: list[bytes] = (), c_sources: list[str] = (), openmp: bool = True, c_flags: tuple[str, ...] = ()) -> None:
    """Build `out_path` from object-file bytes and/or C source texts. `c_flags` tune the code
    (instruction sets, contraction): a compiler that rejects them builds without them."""
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lamina-link-") as work:
        inputs = []
        for i, obj in enumerate(objects):
            path = os.path.join(work, f"part{i}.o")
            with open(path, "wb") as f:
                f.write(obj)
            inputs.append(path)
        for i, src in enumerate(c_sources):
            path = os.path.join(work, f"part{i}.c")
            with open(path, "w") as f:
                f.write(src)
            inputs.append(path)
        fd, tmp_out = tempfile.mkstemp(prefix=".lamina-", suffix=".so", dir=out_dir)
        os.close(fd)
        cmd = [c_compiler(), "-shared", "-fPIC", "-O3", "-std=c99", "-o", tmp_out, *inputs, "-lm"]
        if openmp:
            cmd.insert(1, "-fopenmp")
        try:
            proc = subprocess.run(cmd[:1] + list(c_flags) + cmd[1:], capture_output=True, text=True)
            if proc.returncode != 0 and c_flags and subprocess.run(cmd, capture_output=True, text=True).returncode == 0:
                proc = None
            if proc is not None and proc.returncode != 0:
                raise LaminaError(f"linking {out_path} failed:\n{proc.stderr.strip()}")
            # The linker fills mkstemp's private 0600 file in place (it comes out 0711); give the
            # library the mode `cc -o` gives a new one, executable and readable as the umask allows.
            os.chmod(tmp_out, 0o777 & ~process_umask())
            os.replace(tmp_out, out_path)
        finally:
            if os.path.exists(tmp_out):
                os.unlink(tmp_out)
