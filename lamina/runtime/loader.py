"""`lamina.load("model.so")`: call an exported module. Loading a shared library runs its code,
so only the file the user names is opened, and its ABI version and metadata are checked before
anything else in it is called."""

from __future__ import annotations

import ctypes
import os

from lamina.ir.diagnostics import LaminaError
from lamina.runtime.abi import ABI_VERSION, ModuleSignature
from lamina.runtime.compiled_model import CompiledModel


class LoadedModel(CompiledModel):
    def __init__(self, path: str, threads: int | None = None):
        if not os.path.isfile(path):
            raise LaminaError(f"no such file: {path}")
        try:
            lib = ctypes.CDLL(os.path.abspath(path))
        except OSError as e:
            raise LaminaError(f"{path} is not a loadable shared library ({e})") from None
        try:
            version_fn = lib.lamina_abi_version
        except AttributeError:
            raise LaminaError(f"{path} is not a lamina module (no lamina_abi_version symbol)") from None
        version_fn.restype = ctypes.c_int32
        version = version_fn()
        if version != ABI_VERSION:
            raise LaminaError(f"{path} was built for lamina ABI {version}; this lamina speaks ABI {ABI_VERSION}")
        meta_fn = lib.lamina_metadata
        meta_fn.restype = ctypes.c_char_p
        signature = ModuleSignature.from_json(meta_fn().decode("utf-8", "replace"), path)
        run = ctypes.cast(lib.lamina_run, ctypes.c_void_p).value
        workspace = ctypes.cast(lib.lamina_workspace_bytes, ctypes.c_void_p).value
        super().__init__(signature, run, workspace, lib, threads)
        self.path = path


def load(path: str, threads: int | None = None) -> LoadedModel:
    return LoadedModel(os.fspath(path), threads)
