"""Winograd's minimal filtering F(m x m, 3x3) (Lavin & Gray, 2016), m = 2 or 4, as two graph
ops and a weight transform: a 3x3 convolution at stride 1 computes every m x m block of outputs
from a t x t block of inputs (t = m + 2) with t*t multiplications per channel pair instead of
9*m*m (16 instead of 36 for m = 2, 36 instead of 144 for m = 4),

    Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A

so the conv becomes t*t independent GEMMs (one per position of the transformed tile) between
transformed inputs and transformed weights, with cheap linear transforms around them.

Layouts are channel-innermost so every transform vectorizes along channels with contiguous
loads and stores and the GEMMs take the transformed weights as a constant right operand:

    winograd_input:  x [N, Hp, Wp, C] (NHWC, padded)   -> v [t*t, N*TH*TW, C]
    matmul:          v @ u, u [t*t, C, O] (constant)   -> m [t*t, N*TH*TW, O]
    winograd_output: m                                 -> y [N, H, W, O] (H <= m*TH, W <= m*TW)

Tile (ty, tx) of image n is row p = (n*TH + ty)*TW + tx; it reads x[n, m*ty : m*ty + t,
m*tx : m*tx + t] and produces y[n, m*ty : m*ty + m, m*tx : m*tx + m] (cropped at the bottom and
right edges). winograd_input's `output_tile` attribute is m; winograd_output reads it off its
operand's t*t rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lamina.ir.optable import OpView, ShapeError
from lamina.ir.types import TensorType


@dataclass(frozen=True)
class Variant:
    """F(m x m, 3x3): its output tile edge m and the matrices of Y = A^T [(G g G^T) ⊙ (B^T d B)] A."""

    out: int
    b_t: np.ndarray  # t x t, integer entries
    g: np.ndarray  # t x 3
    a_t: np.ndarray  # m x t, integer entries

    @property
    def tile(self) -> int:
        return self.out + 2

    @property
    def positions(self) -> int:
        return self.tile * self.tile


def _matrix(rows) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


# Interpolation points 0, 1, -1 (and infinity) for m = 2; 0, ±1, ±2 (and infinity) for m = 4.
VARIANTS = {
    2: Variant(
        2,
        _matrix([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]),
        _matrix([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]),
        _matrix([[1, 1, 1, 0], [0, 1, -1, -1]]),
    ),
    4: Variant(
        4,
        _matrix([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]),
        _matrix([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
        _matrix([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]),
    ),
}


def variant(out: int) -> Variant:
    if out not in VARIANTS:
        raise ShapeError(f"Winograd output tiles are {' or '.join(map(str, VARIANTS))} wide, got {out}")
    return VARIANTS[out]


def variant_of_positions(positions: int) -> Variant:
    for v in VARIANTS.values():
        if v.positions == positions:
            return v
    raise ShapeError(f"{positions} transformed positions match no Winograd tile ({', '.join(str(v.positions) for v in VARIANTS.values())})")


def tile_counts(height: int, width: int, out: int = 2) -> tuple[int, int]:
    return -(-height // out), -(-width // out)


def transform_weights(weight: np.ndarray, out: int = 2) -> np.ndarray:
    """OIHW 3x3 weights -> u [t*t, I, O] with u[t*a + b, i, o] = (G w[o, i] G^T)[a, b]."""
    v = variant(out)
    u = np.einsum("ak,oikl,bl->abio", v.g, weight.astype(np.float64), v.g)
    return np.ascontiguousarray(u.reshape(v.positions, weight.shape[1], weight.shape[0])).astype(weight.dtype)


# ---------------------------------------------------------------- numpy semantics


def input_reference(x: np.ndarray, tiles, output_tile: int = 2) -> np.ndarray:
    v = variant(output_tile)
    th, tw = tiles
    n, _, _, c = x.shape
    m, t = v.out, v.tile
    patches = np.stack([np.stack([x[:, m * ty : m * ty + t, m * tx : m * tx + t, :] for tx in range(tw)], 1) for ty in range(th)], 1)
    # patches [N, TH, TW, t, t, C] -> B^T d B per channel
    out = np.einsum("ai,ntsijc,bj->abntsc", v.b_t, patches.astype(np.float64), v.b_t)
    return np.ascontiguousarray(out.reshape(v.positions, n * th * tw, c)).astype(x.dtype)


def output_reference(m: np.ndarray, size) -> np.ndarray:
    v = variant_of_positions(m.shape[0])
    height, width = size
    th, tw = tile_counts(height, width, v.out)
    p, o = m.shape[1], m.shape[2]
    tiles = m.astype(np.float64).reshape(v.tile, v.tile, p // (th * tw), th, tw, o)
    y = np.einsum("ia,abntso,jb->ntisjo", v.a_t, tiles, v.a_t).reshape(p // (th * tw), v.out * th, v.out * tw, o)
    return np.ascontiguousarray(y[:, :height, :width, :]).astype(m.dtype)


# ---------------------------------------------------------------- type rules


def _tensor(view: OpView, rank: int, what: str) -> TensorType:
    t = view.operand_types[0]
    if not isinstance(t, TensorType) or t.rank != rank:
        raise ShapeError(f"{what} must be a rank-{rank} tensor, got {t}")
    if not all(isinstance(d, int) for d in t.shape):
        raise ShapeError(f"{what} needs static dims, got {t}")
    return t


def input_rule(view: OpView):
    x = _tensor(view, 4, "winograd_input's operand (NHWC)")
    v = variant(view.attrs["output_tile"])
    th, tw = view.attrs["tiles"]
    n, h, w, c = x.shape
    if th < 1 or tw < 1 or h < v.out * th + 2 or w < v.out * tw + 2:
        raise ShapeError(f"{th}x{tw} tiles read {v.out * th + 2}x{v.out * tw + 2} rows and columns, the input has {h}x{w}")
    return [TensorType.of([v.positions, n * th * tw, c], x.element_type)]


def output_rule(view: OpView):
    m = _tensor(view, 3, "winograd_output's operand")
    v = variant_of_positions(m.shape[0])
    height, width = view.attrs["size"]
    th, tw = tile_counts(height, width, v.out)
    if height < 1 or width < 1 or m.shape[1] % (th * tw):
        raise ShapeError(f"operand {m} does not hold {v.positions} transformed tiles of {th}x{tw} per image for a {height}x{width} output")
    return [TensorType.of([m.shape[1] // (th * tw), height, width, m.shape[2]], m.element_type)]


# ---------------------------------------------------------------- compute rules


def _combination(coefficients: np.ndarray, terms: list[str]) -> str:
    """The text of sum(c * term) over the non-zero integer coefficients, a positive one first
    (`b - a`, not `-a + b`: no negation)."""
    pairs = sorted(((c, t) for c, t in zip(coefficients, terms) if c), key=lambda pair: pair[0] < 0)
    text = ""
    for coefficient, term in pairs:
        assert coefficient == int(coefficient), coefficient
        magnitude = abs(int(coefficient))
        scaled = term if magnitude == 1 else f"{magnitude}.0 * {term}"
        if not text:
            text = scaled if coefficient > 0 else f"-{scaled}"
        else:
            text += f" + {scaled}" if coefficient > 0 else f" - {scaled}"
    return text


def _linear_sums(rows: np.ndarray, cols: np.ndarray, access) -> list[tuple[int, int, str]]:
    """(i, j, text) for each entry of rows @ D @ cols^T (`access(a, b)` names D[a, b]), as the
    separable sum_b cols[j, b] * (sum_a rows[i, a] * D[a, b]). The inner sums' texts repeat
    across j, and the rule lowering computes an expression once per block: F(4x4)'s input
    transform takes 36 inner sums and 36 outer ones, where the direct sums had 36 of 9-16 terms."""
    inner = [[f"({_combination(rows[i], [access(a, b) for a in range(rows.shape[1])])})" for b in range(cols.shape[1])] for i in range(rows.shape[0])]
    return [(i, j, _combination(cols[j], inner[i])) for i in range(rows.shape[0]) for j in range(cols.shape[0])]


def input_compute(view: OpView) -> str:
    """One statement per transformed position (a, b): a weighted sum of input elements."""
    v = variant(view.attrs["output_tile"])
    th, tw = view.attrs["tiles"]

    def access(i: int, j: int) -> str:
        return f"x[n, {v.out}*ty + {i}, {v.out}*tx + {j}, c]"

    return "; ".join(
        f"out[{v.tile * a + b}, (n * {th} + ty) * {tw} + tx, c] = {text} where ty < {th}, tx < {tw}" for a, b, text in _linear_sums(v.b_t, v.b_t, access)
    )


def output_compute(view: OpView) -> str:
    """One statement per output position (i, j) of a tile: a weighted sum of the products' sums.
    Rows and columns past the output's edge are not written (their extents are shorter)."""
    m = view.operand_types[0].shape
    v = variant_of_positions(m[0])
    height, width = view.attrs["size"]
    th, tw = tile_counts(height, width, v.out)
    images = m[1] // (th * tw)

    def access(a: int, b: int) -> str:
        return f"m[{v.tile * a + b}, (n * {th} + ty) * {tw} + tx, o]"

    rules = []
    for i, j, text in _linear_sums(v.a_t, v.a_t, access):
        rows, cols = (height - i + v.out - 1) // v.out, (width - j + v.out - 1) // v.out
        rules.append(f"out[n, {v.out}*ty + {i}, {v.out}*tx + {j}, o] = {text} where n < {images}, ty < {rows}, tx < {cols}")
    return "; ".join(rules)
