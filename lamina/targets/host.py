"""What the compiling machine offers: CPU name and features for LLVM, vector width, cores and
cache sizes the default schedules size their tiles from."""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass

import llvmlite.binding as llvm

from lamina.ir.diagnostics import LaminaError


@functools.cache
def initialize_llvm() -> None:
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    llvm.initialize_native_asmparser()


# LLVM's names of the CPUs that execute 512-bit vector instructions on 256-bit units.
SPLIT_512_BIT_CPUS = ("znver4",)


@dataclass(frozen=True)
class HostTarget:
    triple: str
    cpu: str
    features: str
    vector_bits: int
    cores: int
    l1_bytes: int
    l2_bytes: int

    def vector_lanes(self, element_bytes: int) -> int:
        return max(1, self.vector_bits // (8 * element_bytes))

    @property
    def vector_registers(self) -> int:
        """x86-64 has 16 vector registers; AVX-512 adds 16 more (and a narrowed target drops them)."""
        return 32 if self.vector_bits >= 512 else 16

    @property
    def vector_register_bytes(self) -> int:
        return self.vector_registers * self.vector_bits // 8

    @property
    def splits_wide_vectors(self) -> bool:
        """Whether 512-bit operations run as two 256-bit halves (Zen 4), so that an unaligned
        16-float load, which always crosses a cache line, costs more than two 8-float ones."""
        return self.vector_bits >= 512 and self.cpu in SPLIT_512_BIT_CPUS

    @property
    def full_rate_vector_bits(self) -> int:
        """The widest vectors whose arithmetic runs at one instruction per unit and cycle: what
        sets how many flops a core does per byte it loads (a Zen 4's 512-bit FMAs take two)."""
        return self.vector_bits // 2 if self.splits_wide_vectors else self.vector_bits


def _cache_bytes(index: int, default: int) -> int:
    path = f"/sys/devices/system/cpu/cpu0/cache/index{index}/size"
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return default
    scale = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
    digits = text.rstrip("KM")
    return int(digits) * scale if digits.isdigit() else default


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# Compiling as for a host with narrower vectors (LAMINA_VECTOR_BITS=256 on an AVX-512 machine)
# turns off the wider instruction sets too, so LLVM's own vectorizer matches: a schedule or IR
# written for one machine reproduces on another, and tests that read the generated IR pin it.
VECTOR_BITS_VARIABLE = "LAMINA_VECTOR_BITS"
_WIDER_FEATURES = {256: ("avx512",), 128: ("avx512", "avx", "fma", "f16c")}


def host_target() -> HostTarget:
    """The compiling machine, with its vectors narrowed to LAMINA_VECTOR_BITS when that is set."""
    host = detected_host()
    requested = os.environ.get(VECTOR_BITS_VARIABLE, "").strip()
    if not requested:
        return host
    if requested not in ("128", "256", "512"):
        raise LaminaError(f"{VECTOR_BITS_VARIABLE}={requested!r}: expected 128, 256 or 512")
    bits = int(requested)
    if bits > host.vector_bits:
        raise LaminaError(f"{VECTOR_BITS_VARIABLE}={bits}: this CPU ({host.cpu}) has {host.vector_bits}-bit vectors at most")
    if bits == host.vector_bits:
        return host
    return dataclasses.replace(host, vector_bits=bits, features=_without(host.features, _WIDER_FEATURES[bits]))


def _without(features: str, prefixes: tuple[str, ...]) -> str:
    flags = []
    for flag in features.split(","):
        if flag.startswith("+") and flag[1:].startswith(prefixes):
            flag = "-" + flag[1:]
        flags.append(flag)
    return ",".join(flags)


@functools.cache
def detected_host() -> HostTarget:
    initialize_llvm()
    features = llvm.get_host_cpu_features()
    if features.get("avx512f"):
        bits = 512
    elif features.get("avx2") or features.get("avx"):
        bits = 256
    else:
        bits = 128
    return HostTarget(
        triple=llvm.get_process_triple(),
        cpu=llvm.get_host_cpu_name(),
        features=features.flatten(),
        vector_bits=bits,
        cores=usable_cores(),
        l1_bytes=_cache_bytes(0, 32 * 1024),
        l2_bytes=_cache_bytes(2, 512 * 1024),
    )
