"""Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016) as two graph ops and a weight
transform: a 3x3 convolution at stride 1 computes every 2x2 block of outputs from a 4x4 block of
inputs with 16 multiplications per channel pair instead of 36,

    Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A

so the conv becomes 16 independent GEMMs (one per position of the 4x4 transformed tile) between
transformed inputs and transformed weights, with cheap add/subtract transforms around them.

Layouts are channel-innermost so every transform vectorizes along channels with contiguous
loads and stores and the GEMMs take the transformed weights as a constant right operand:

    winograd_input:  x [N, Hp, Wp, C] (NHWC, padded)   -> v [16, N*TH*TW, C]
    matmul:          v @ u, u [16, C, O] (constant)    -> m [16, N*TH*TW, O]
    winograd_output: m                                 -> y [N, H, W, O] (H <= 2*TH, W <= 2*TW)

Tile (ty, tx) of image n is row p = (n*TH + ty)*TW + tx; it reads x[n, 2ty:2ty+4, 2tx:2tx+4]
and produces y[n, 2ty:2ty+2, 2tx:2tx+2] (cropped at the bottom and right edges).
"""

from __future__ import annotations

import numpy as np

from lamina.ir.optable import OpView, ShapeError
from lamina.ir.types import TensorType

B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
TILE = 4  # input tile edge: 2 outputs + kernel 3 - 1
OUT = 2  # output tile edge


def tile_counts(height: int, width: int) -> tuple[int, int]:
    return -(-height // OUT), -(-width // OUT)


def transform_weights(weight: np.ndarray) -> np.ndarray:
    """OIHW 3x3 weights -> u [16, I, O] with u[4a + b, i, o] = (G w[o, i] G^T)[a, b]."""
    u = np.einsum("ak,oikl,bl->abio", G, weight.astype(np.float64), G)
    return np.ascontiguousarray(u.reshape(TILE * TILE, weight.shape[1], weight.shape[0])).astype(weight.dtype)


# ---------------------------------------------------------------- numpy semantics


def input_reference(x: np.ndarray, tiles) -> np.ndarray:
    th, tw = tiles
    n, _, _, c = x.shape
    patches = np.stack([np.stack([x[:, 2 * ty : 2 * ty + TILE, 2 * tx : 2 * tx + TILE, :] for tx in range(tw)], 1) for ty in range(th)], 1)
    # patches [N, TH, TW, 4, 4, C] -> B^T d B per channel
    v = np.einsum("ai,ntsijc,bj->abntsc", B_T, patches.astype(np.float64), B_T)
    return np.ascontiguousarray(v.reshape(TILE * TILE, n * th * tw, c)).astype(x.dtype)


def output_reference(m: np.ndarray, size) -> np.ndarray:
    height, width = size
    th, tw = tile_counts(height, width)
    p, o = m.shape[1], m.shape[2]
    tiles = m.astype(np.float64).reshape(TILE, TILE, p // (th * tw), th, tw, o)
    y = np.einsum("ia,abntso,jb->ntisjo", A_T, tiles, A_T).reshape(p // (th * tw), OUT * th, OUT * tw, o)
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
    th, tw = view.attrs["tiles"]
    n, h, w, c = x.shape
    if th < 1 or tw < 1 or h < OUT * th + 2 or w < OUT * tw + 2:
        raise ShapeError(f"{th}x{tw} tiles read {OUT * th + 2}x{OUT * tw + 2} rows and columns, the input has {h}x{w}")
    return [TensorType.of([TILE * TILE, n * th * tw, c], x.element_type)]


def output_rule(view: OpView):
    m = _tensor(view, 3, "winograd_output's operand")
    height, width = view.attrs["size"]
    th, tw = tile_counts(height, width)
    if m.shape[0] != TILE * TILE or height < 1 or width < 1 or m.shape[1] % (th * tw):
        raise ShapeError(f"operand {m} does not hold 16 transformed tiles of {th}x{tw} per image for a {height}x{width} output")
    return [TensorType.of([m.shape[1] // (th * tw), height, width, m.shape[2]], m.element_type)]


# ---------------------------------------------------------------- compute rules


def _signed_sums(rows: np.ndarray, cols: np.ndarray, access) -> list[tuple[int, int, str]]:
    """(i, j, text) for each entry of rows @ D @ cols^T as a signed sum of the entries of D
    (`access(a, b)` names D[a, b]); the matrices hold only 0 and ±1."""
    sums = []
    for i in range(rows.shape[0]):
        for j in range(cols.shape[0]):
            text = ""
            for a in range(rows.shape[1]):
                for b in range(cols.shape[1]):
                    coefficient = rows[i, a] * cols[j, b]
                    if not coefficient:
                        continue
                    assert coefficient in (1.0, -1.0), coefficient
                    term = access(a, b)
                    if not text:
                        text = term if coefficient > 0 else f"-{term}"
                    else:
                        text += f" + {term}" if coefficient > 0 else f" - {term}"
            sums.append((i, j, text))
    return sums


def input_compute(view: OpView) -> str:
    """One statement per transformed position (a, b): a signed sum of four input elements."""
    th, tw = view.attrs["tiles"]

    def access(i: int, j: int) -> str:
        return f"x[n, {OUT}*ty + {i}, {OUT}*tx + {j}, c]"

    return "; ".join(
        f"out[{TILE * a + b}, (n * {th} + ty) * {tw} + tx, c] = {text} where ty < {th}, tx < {tw}" for a, b, text in _signed_sums(B_T, B_T, access)
    )


def output_compute(view: OpView) -> str:
    """One statement per output position (i, j) of a tile: a signed sum of nine products' sums.
    Rows and columns past the output's edge are not written (their extents are shorter)."""
    height, width = view.attrs["size"]
    th, tw = tile_counts(height, width)
    images = view.operand_types[0].shape[1] // (th * tw)

    def access(a: int, b: int) -> str:
        return f"m[{TILE * a + b}, (n * {th} + ty) * {tw} + tx, o]"

    rules = []
    for i, j, text in _signed_sums(A_T, A_T, access):
        rows, cols = (height - i + 1) // OUT, (width - j + 1) // OUT
        rules.append(f"out[n, {OUT}*ty + {i}, {OUT}*tx + {j}, o] = {text} where n < {images}, ty < {rows}, tx < {cols}")
    return "; ".join(rules)
