"""Hypothesis profiles. The default run is derandomized so CI is reproducible (a failure seen
there is seen locally with the same command); `HYPOTHESIS_PROFILE=fuzz` draws fresh random
programs for long exploratory runs (combine with LAMINA_DIFF_EXAMPLES=2000)."""

import dataclasses
import os

import pytest
from hypothesis import settings

import lamina.targets.host as host_module
from lamina.targets.host import VECTOR_BITS_VARIABLE, detected_host

settings.register_profile("default", derandomize=True)
settings.register_profile("fuzz", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def avx2_vectors(monkeypatch):
    """Compile as for 8-float vectors (AVX2), for tests that assert a schedule planned at that
    width; a host with wider vectors compiles as one without them."""
    if detected_host().vector_bits < 256:
        pytest.skip("the host has no 256-bit vectors")
    monkeypatch.setenv(VECTOR_BITS_VARIABLE, "256")


@pytest.fixture
def avx512_vectors(monkeypatch):
    """Compile for 16-float vectors; skipped on a host without AVX-512."""
    if detected_host().vector_bits < 512:
        pytest.skip("the host has no 512-bit vectors")
    monkeypatch.setenv(VECTOR_BITS_VARIABLE, "512")


@pytest.fixture
def host_cpu(monkeypatch):
    """Call with an LLVM CPU name to plan schedules as on that CPU (features and vector width
    stay the host's): e.g. "znver4", which runs 512-bit operations in two halves."""

    def pretend(cpu: str) -> None:
        pretended = dataclasses.replace(detected_host(), cpu=cpu)
        monkeypatch.setattr(host_module, "detected_host", lambda: pretended)

    return pretend
