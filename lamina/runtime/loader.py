"""`lamina.load("model.so")`: call an exported module. Loading a shared library runs its code,
so only the file the user names is opened, and before the dynamic loader sees it the file is
checked to be a complete ELF shared library that exports the lamina entry points (a truncated
or foreign file would otherwise crash the process or run foreign code). Then its ABI version
and metadata are checked before anything else in it is called."""

from __future__ import annotations

import ctypes
import os
import struct

from lamina.ir.diagnostics import LaminaError
from lamina.runtime.abi import ABI_VERSION, ModuleSignature
from lamina.runtime.compiled_model import CompiledModel

ABI_SYMBOLS = ("lamina_abi_version", "lamina_metadata", "lamina_workspace_bytes", "lamina_run")

ELF_MAGIC = b"\x7fELF"
ET_DYN = 3
PT_LOAD = 1
SHT_DYNSYM = 11
SHN_UNDEF = 0


class _ElfReader:
    """Just enough of an ELF reader to check a shared library's structure and list the symbols
    it defines, without mapping or running it."""

    def __init__(self, data: bytes, path: str):
        self.data = data
        self.path = path
        if len(data) < 16 or data[:4] != ELF_MAGIC:
            raise LaminaError(f"{path} is not a shared library (no ELF header)")
        elf_class, byte_order = data[4], data[5]
        if elf_class not in (1, 2) or byte_order not in (1, 2):
            raise LaminaError(f"{path} has a malformed ELF header (class {elf_class}, data encoding {byte_order})")
        self.wide = elf_class == 2
        self.order = "<" if byte_order == 1 else ">"
        header = self._unpack("HHIQQQIHHHHHH" if self.wide else "HHIIIIIHHHHHH", 16, "the ELF header")
        (e_type, _machine, _version, _entry, self.phoff, self.shoff, _flags, _ehsize,
         self.phentsize, self.phnum, self.shentsize, self.shnum, _shstrndx) = header  # fmt: skip
        if e_type != ET_DYN:
            raise LaminaError(f"{path} is an ELF file but not a shared library (ELF type {e_type})")

    def _unpack(self, fmt: str, offset: int, what: str) -> tuple:
        fmt = self.order + fmt
        end = offset + struct.calcsize(fmt)
        if offset < 0 or end > len(self.data):
            raise LaminaError(
                f"{self.path} is truncated or corrupt: {what} lies at bytes {offset}..{end} of a {len(self.data)}-byte file"
            )
        return struct.unpack_from(fmt, self.data, offset)

    def check_segments_are_complete(self) -> None:
        program_header = "IIQQQQQQ" if self.wide else "IIIIIIII"
        for k in range(self.phnum):
            fields = self._unpack(program_header, self.phoff + k * self.phentsize, f"program header {k}")
            if self.wide:
                p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = fields[:6]
            else:
                p_type, p_offset, _vaddr, _paddr, p_filesz = fields[:5]
            if p_type == PT_LOAD and p_offset + p_filesz > len(self.data):
                raise LaminaError(
                    f"{self.path} is truncated or corrupt: a loadable segment needs bytes up to "
                    f"{p_offset + p_filesz}, the file has {len(self.data)}"
                )

    def _section(self, index: int) -> tuple[int, int, int, int, int]:
        """(type, offset, size, link, entry size) of section `index`."""
        section_header = "IIQQQQIIQQ" if self.wide else "IIIIIIIIII"
        fields = self._unpack(section_header, self.shoff + index * self.shentsize, f"section header {index}")
        _name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link, _info, _align, sh_entsize = fields
        return sh_type, sh_offset, sh_size, sh_link, sh_entsize

    def defined_dynamic_symbols(self) -> set[str] | None:
        """Names the library exports, or None when it has no section table to read them from."""
        if self.shoff == 0 or self.shnum == 0:
            return None
        names: set[str] = set()
        symbol_format = "IBBHQQ" if self.wide else "IIIBBH"
        for index in range(self.shnum):
            sh_type, offset, size, link, entsize = self._section(index)
            if sh_type != SHT_DYNSYM or entsize == 0:
                continue
            _t, str_offset, str_size, _l, _e = self._section(link)
            strings = self.data[str_offset : str_offset + str_size]
            if str_offset + str_size > len(self.data):
                raise LaminaError(f"{self.path} is truncated or corrupt: its dynamic string table runs past the end")
            for k in range(size // entsize):
                fields = self._unpack(symbol_format, offset + k * entsize, f"dynamic symbol {k}")
                st_name, st_shndx = fields[0], (fields[3] if self.wide else fields[5])
                if st_shndx == SHN_UNDEF:
                    continue
                end = strings.find(b"\0", st_name)
                names.add(strings[st_name : end if end >= 0 else len(strings)].decode("utf-8", "replace"))
        return names


def check_lamina_library(path: str) -> None:
    """Refuse, with a message naming the file, anything but a complete shared library that
    exports `lamina_abi_version`. Reads the file; maps and runs nothing. (The other ABI
    functions are required once the version is known to be this one: a module of another ABI
    version may name them differently, and its version is the useful thing to report.)"""
    with open(path, "rb") as f:
        data = f.read()
    elf = _ElfReader(data, path)
    elf.check_segments_are_complete()
    exported = elf.defined_dynamic_symbols()
    if exported is not None and ABI_SYMBOLS[0] not in exported:
        raise LaminaError(f"{path} is not a lamina module (it does not export {ABI_SYMBOLS[0]})")


class LoadedModel(CompiledModel):
    def __init__(self, path: str, threads: int | None = None):
        if os.path.isdir(path):
            raise LaminaError(f"{path} is a directory, not a shared library")
        if not os.path.isfile(path):
            raise LaminaError(f"no such file: {path}")
        check_lamina_library(path)
        try:
            lib = ctypes.CDLL(os.path.abspath(path))
        except OSError as e:
            raise LaminaError(f"{path} is not a loadable shared library ({e})") from None
        try:
            version_fn = lib.lamina_abi_version
        except AttributeError:
            raise LaminaError(f"{path} is not a lamina module (it does not export {ABI_SYMBOLS[0]})") from None
        version_fn.restype = ctypes.c_int32
        version = version_fn()
        if version != ABI_VERSION:
            raise LaminaError(f"{path} was built for lamina ABI {version}; this lamina speaks ABI {ABI_VERSION}")
        entry_points = {}
        missing = []
        for name in ABI_SYMBOLS:
            try:
                entry_points[name] = getattr(lib, name)
            except AttributeError:
                missing.append(name)
        if missing:
            raise LaminaError(f"{path} is not a complete lamina module: it does not export {', '.join(missing)}")
        meta_fn = entry_points["lamina_metadata"]
        meta_fn.restype = ctypes.c_char_p
        metadata = meta_fn()
        if metadata is None:
            raise LaminaError(f"{path} does not carry valid lamina metadata (lamina_metadata returned NULL)")
        signature = ModuleSignature.from_json(metadata.decode("utf-8", "replace"), path)
        run = ctypes.cast(entry_points["lamina_run"], ctypes.c_void_p).value
        workspace = ctypes.cast(entry_points["lamina_workspace_bytes"], ctypes.c_void_p).value
        super().__init__(signature, run, workspace, lib, threads)
        self.path = path


def load(path: str, threads: int | None = None) -> LoadedModel:
    return LoadedModel(os.fspath(path), threads)
