"""The cuda target: CUDA C++ source for GPU-bound schedules. `export(dir)` writes `<name>.cu`
and the C header; `object_file()` checks the source with `nvcc -c`. Running needs an NVIDIA GPU:
`load()` builds a shared library with nvcc and calls it through the same ABI as the other
targets (it reports failure when no GPU is present)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile

from xdsl.dialects.builtin import ModuleOp

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import Dim
from lamina.runtime.abi import ModuleSignature, c_header
from lamina.targets.cuda_emitter import emit_cuda_source
from lamina.targets.llvm_target import entry_function
from lamina.tools.atomic_write import write_text_atomically


def nvcc() -> str:
    path = shutil.which("nvcc")
    if path is None:
        raise LaminaError("nvcc is not on PATH: CUDA source can be exported but not compiled here")
    return path


class CudaModule:
    def __init__(self, source: str, signature: ModuleSignature, threads: int | None = None):
        self.source = source
        self.signature = signature
        self.threads = threads

    def export(self, path: str) -> str:
        os.makedirs(path, exist_ok=True)
        write_text_atomically(os.path.join(path, f"{self.signature.name}.cu"), self.source)
        write_text_atomically(os.path.join(path, f"{self.signature.name}.h"), c_header(self.signature))
        return path

    def _nvcc(self, args: list[str], suffix: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="lamina-cuda-") as work:
            src = os.path.join(work, "module.cu")
            out = os.path.join(work, "module" + suffix)
            with open(src, "w") as f:
                f.write(self.source)
            proc = subprocess.run([nvcc(), *args, "-o", out, src], capture_output=True, text=True)
            if proc.returncode != 0:
                raise LaminaError(f"nvcc rejected the generated CUDA source:\n{proc.stderr.strip()[-3000:]}")
            with open(out, "rb") as f:
                return f.read()

    def object_file(self) -> bytes:
        return self._nvcc(["-c", "-O3"], ".o")

    def load(self):
        from lamina.runtime.loader import LoadedModel

        digest = hashlib.blake2b(self.source.encode(), digest_size=12).hexdigest()
        path = os.path.join(tempfile.gettempdir(), f"lamina-cuda-{os.getuid()}", f"{self.signature.name}-{digest}.so")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            data = self._nvcc(["-shared", "-O3", "-Xcompiler", "-fPIC"], ".so")
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return LoadedModel(path, self.threads)

    def __call__(self, *args, **kwargs):
        return self.load()(*args, **kwargs)


def build_cuda_module(module: ModuleOp, signature: ModuleSignature, threads: int | None = None, workspace: Dim | None = None) -> CudaModule:
    return CudaModule(emit_cuda_source(module, entry_function(module), signature, workspace), signature, threads)
