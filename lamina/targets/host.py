"""What the compiling machine offers: CPU name and features for LLVM, vector width, cores and
cache sizes the default schedules size their tiles from."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import llvmlite.binding as llvm


@functools.cache
def initialize_llvm() -> None:
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    llvm.initialize_native_asmparser()


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


@functools.cache
def host_target() -> HostTarget:
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
