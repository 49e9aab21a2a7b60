"""The c target: the device module as one C99 source file plus a header. `build_c_model` compiles
it with the system C compiler and runs it in process (the same ABI as the llvm target);
`export` writes the source and header (a directory) or links a `.so`."""

from __future__ import annotations

import hashlib
import os
import tempfile

from xdsl.dialects.builtin import ModuleOp

from lamina.ir.dims import Dim
from lamina.runtime.abi import ModuleSignature, c_header
from lamina.runtime.loader import LoadedModel
from lamina.targets.c_emitter import emit_c_source
from lamina.targets.host import host_target
from lamina.targets.linker import link_shared
from lamina.targets.llvm_target import entry_function
from lamina.tools.atomic_write import write_text_atomically


def _build_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), f"lamina-c-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def host_c_flags() -> tuple[str, ...]:
    """Build for the machine the schedules were planned for, as the llvm target does: its
    instruction sets, narrowed as LAMINA_VECTOR_BITS narrows them (without them GCC splits an
    8-float vector into SSE halves: sgemm-256 ran 40x slower), and fused multiply-adds, which
    the llvm target contracts too (-std=c99 turns GCC's contraction off)."""
    flags = ["-march=native", "-ffp-contract=fast"]
    target = host_target()
    if target.triple.startswith(("x86_64", "i386", "i686")):
        if target.vector_bits < 512:
            flags.append("-mno-avx512f")
        if target.vector_bits < 256:
            flags.append("-mno-avx")
    return tuple(flags)


class CModel(LoadedModel):
    def __init__(self, source: str, signature: ModuleSignature, threads: int | None):
        flags = host_c_flags()
        digest = hashlib.blake2b("\0".join((source, *flags)).encode(), digest_size=12).hexdigest()
        path = os.path.join(_build_dir(), f"{signature.name}-{digest}.so")
        if not os.path.exists(path):
            link_shared(path, c_sources=[source], c_flags=flags)
        super().__init__(path, threads)
        self.source = source

    def export(self, path: str) -> str:
        """`x.so`: a shared library (+ `x.h`); anything else: a directory with `<name>.c` and `<name>.h`."""
        if path.endswith(".so"):
            link_shared(path, c_sources=[self.source], c_flags=host_c_flags())
            write_text_atomically(os.path.splitext(path)[0] + ".h", c_header(self.signature))
            return path
        os.makedirs(path, exist_ok=True)
        write_text_atomically(os.path.join(path, f"{self.signature.name}.c"), self.source)
        write_text_atomically(os.path.join(path, f"{self.signature.name}.h"), c_header(self.signature))
        return path


def c_source(module: ModuleOp, signature: ModuleSignature, workspace: Dim | None) -> str:
    return emit_c_source(module, entry_function(module), signature, workspace)


def build_c_model(module: ModuleOp, signature: ModuleSignature, threads: int | None = None, workspace: Dim | None = None) -> CModel:
    return CModel(c_source(module, signature, workspace), signature, threads)
