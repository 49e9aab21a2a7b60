"""The native ABI every compiled lamina module exposes, from the JIT and from an exported `.so`.

    int32_t     lamina_abi_version(void);
    const char *lamina_metadata(void);                        // JSON, see ModuleSignature
    int64_t     lamina_workspace_bytes(const int64_t *symbols);
    int32_t     lamina_run(void *const *buffers,             // inputs, then outputs
                           const int64_t *symbols,            // symbolic dims, in metadata order
                           void *workspace,                   // lamina_workspace_bytes(symbols) bytes, 64-aligned
                           int32_t num_threads);              // 0: the runtime's default

Outputs are allocated by the caller with the shapes the metadata gives once symbols are known.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from lamina.ir.diagnostics import LaminaError
from lamina.ir.dims import Dim, evaluate_dim, parse_dim

ABI_VERSION = 1
MAGIC = "lamina-module"

C_TYPES = {
    "float32": "float",
    "float64": "double",
    "float16": "uint16_t",
    "int8": "int8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "uint8": "uint8_t",
    "uint16": "uint16_t",
    "uint32": "uint32_t",
    "uint64": "uint64_t",
    "bool": "bool",
}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: np.dtype
    shape: tuple[Dim, ...]

    def concrete_shape(self, symbols: dict[str, int]) -> tuple[int, ...]:
        return tuple(evaluate_dim(d, symbols) for d in self.shape)

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype.name, "shape": [d if isinstance(d, int) else str(d) for d in self.shape]}

    @staticmethod
    def from_json(data: dict) -> TensorSpec:
        return TensorSpec(
            str(data["name"]),
            np.dtype(str(data["dtype"])),
            tuple(d if isinstance(d, int) else parse_dim(str(d)) for d in data["shape"]),
        )


@dataclass(frozen=True)
class ModuleSignature:
    """What a caller needs to know to call `lamina_run`: inputs, outputs and the symbols."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    symbols: tuple[str, ...]
    peak_workspace: str = "0"  # bytes, a dim expression over the symbols

    def to_json(self) -> str:
        return json.dumps(
            {
                "magic": MAGIC,
                "abi": ABI_VERSION,
                "name": self.name,
                "inputs": [t.to_json() for t in self.inputs],
                "outputs": [t.to_json() for t in self.outputs],
                "symbols": list(self.symbols),
                "peak_workspace": self.peak_workspace,
            },
            sort_keys=True,
        )

    @staticmethod
    def from_json(text: str, origin: str) -> ModuleSignature:
        try:
            data = json.loads(text)
            if data.get("magic") != MAGIC:
                raise ValueError("not a lamina module")
            if data.get("abi") != ABI_VERSION:
                raise LaminaError(f"{origin} was built for lamina ABI {data.get('abi')}, this lamina speaks ABI {ABI_VERSION}")
            return ModuleSignature(
                str(data["name"]),
                tuple(TensorSpec.from_json(t) for t in data["inputs"]),
                tuple(TensorSpec.from_json(t) for t in data["outputs"]),
                tuple(str(s) for s in data["symbols"]),
                str(data.get("peak_workspace", "0")),
            )
        except LaminaError:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise LaminaError(f"{origin} does not carry valid lamina metadata ({e})") from None


def c_header(signature: ModuleSignature) -> str:
    """A header that lets C code call an exported module without Python."""
    guard = f"LAMINA_{signature.name.upper()}_H"
    lines = [
        f"/* lamina module '{signature.name}', ABI {ABI_VERSION}. Generated; do not edit. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "#include <stdbool.h>",
        "#include <stdint.h>",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"#define LAMINA_ABI_VERSION {ABI_VERSION}",
        f"#define LAMINA_NUM_INPUTS {len(signature.inputs)}",
        f"#define LAMINA_NUM_OUTPUTS {len(signature.outputs)}",
        f"#define LAMINA_NUM_SYMBOLS {len(signature.symbols)}",
        "",
        "/* buffers: one pointer per input then per output, dense row-major:",
    ]
    for kind, specs in (("input", signature.inputs), ("output", signature.outputs)):
        for i, t in enumerate(specs):
            dims = " x ".join(str(d) for d in t.shape) or "scalar"
            lines.append(f" *   {kind} {i} '{t.name}': {C_TYPES.get(t.dtype.name, t.dtype.name)}[{dims}]")
    if signature.symbols:
        lines.append(" * symbols (int64, in this order): " + ", ".join(signature.symbols))
    lines += [
        " * workspace: lamina_workspace_bytes(symbols) bytes, 64-byte aligned.",
        " * num_threads: 0 for the OpenMP default. Returns 0 on success. */",
        "int32_t lamina_abi_version(void);",
        "const char *lamina_metadata(void);",
        "int64_t lamina_workspace_bytes(const int64_t *symbols);",
        "int32_t lamina_run(void *const *buffers, const int64_t *symbols, void *workspace, int32_t num_threads);",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)
