# lit configuration: every .mlir file here is a test run through lamina-opt and filecheck.
import os
import sys

import lit.formats

config.name = "lamina"
config.test_format = lit.formats.ShTest(False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["Inputs", "lit.cfg.py"]
# lamina-opt and filecheck live beside the Python that runs lit (the project's virtual env).
bin_dir = os.path.dirname(sys.executable)
config.environment["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
for name in ("HOME", "TMPDIR", "OPENBLAS_CORETYPE"):
    if name in os.environ:
        config.environment[name] = os.environ[name]
# The CHECK lines were written for 8-float vectors (AVX2): a host with wider ones compiles as one
# without them, so the printed schedules are the same on every machine.
config.environment["LAMINA_VECTOR_BITS"] = os.environ.get("LAMINA_VECTOR_BITS", "256")
