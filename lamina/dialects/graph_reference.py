"""numpy semantics of graph ops that are more than a one-line expression in their row.
Each returns arrays of the element type the row's type rule gives."""

from __future__ import annotations

import math

import numpy as np

_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    return np.asarray(_erf(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    xd = x.astype(np.float64)
    if approximate == "tanh":
        y = 0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) * (xd + 0.044715 * xd**3)))
    else:
        y = 0.5 * xd * (1 + np.asarray(_erf(xd / math.sqrt(2)), dtype=np.float64))
    return np.asarray(y).astype(x.dtype)


def sigmoid(x: np.ndarray) -> np.ndarray:
    xd = x.astype(np.float64)
    return (1 / (1 + np.exp(-xd))).astype(x.dtype)


def int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer division truncating toward zero, as C and LLVM's sdiv do."""
    q = np.abs(a) // np.where(b == 0, 1, np.abs(b))
    return (q * np.sign(a) * np.sign(b)).astype(np.result_type(a, b))


def div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer):
        return int_div(a, b)
    return np.divide(a, b)


def power(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer):
        return np.power(a, np.maximum(b, 0)).astype(a.dtype)
    return np.power(a, b).astype(a.dtype)


def clip(x: np.ndarray, min=None, max=None) -> np.ndarray:
    out = x
    if min is not None:
        out = np.maximum(out, np.asarray(min, dtype=x.dtype))
    if max is not None:
        out = np.minimum(out, np.asarray(max, dtype=x.dtype))
    return out.astype(x.dtype)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return (e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    s = x - np.max(x, axis=axis, keepdims=True)
    return (s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))).astype(x.dtype)


def layer_norm(x, scale=None, bias=None, *, axis: int, epsilon: float):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + np.asarray(epsilon, dtype=x.dtype))
    if scale is not None:
        y = y * scale
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype)


def batch_norm(x, scale, bias, mean, var, *, epsilon: float):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (scale / np.sqrt(var + np.asarray(epsilon, dtype=x.dtype))).reshape(shape)
    return ((x - mean.reshape(shape)) * inv + bias.reshape(shape)).astype(x.dtype)


def matmul(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(a.dtype)
    return np.matmul(a, b).astype(a.dtype)


def _windows(x, kernel, strides, pads, dilations, pad_value):
    """View of x as (N, C, OH, OW, KH, KW) windows after padding."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=pad_value)
    kh, kw = kernel
    sh, sw = strides
    dh, dw = dilations
    oh = (h + pads[0] + pads[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pads[1] + pads[3] - dw * (kw - 1) - 1) // sw + 1
    s = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp,
        shape=(n, c, oh, ow, kh, kw),
        strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw),
        writeable=False,
    )


def conv2d(x, w, bias=None, *, strides=None, pads=None, dilations=None, groups=1):
    strides = strides or (1, 1)
    pads = pads or (0, 0, 0, 0)
    dilations = dilations or (1, 1)
    o, cg, kh, kw = w.shape
    win = _windows(x, (kh, kw), strides, pads, dilations, 0)
    n, c, oh, ow = win.shape[:4]
    og = o // groups
    acc_t = np.float64 if np.issubdtype(x.dtype, np.floating) else np.int64
    out = np.empty((n, o, oh, ow), dtype=acc_t)
    for g in range(groups):
        wg = w[g * og : (g + 1) * og].astype(acc_t)
        xg = win[:, g * cg : (g + 1) * cg].astype(acc_t)
        out[:, g * og : (g + 1) * og] = np.einsum("ncyxhw,ochw->noyx", xg, wg)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out.astype(x.dtype)


def max_pool2d(x, *, kernel, strides=None, pads=None, dilations=None, ceil_mode=False):
    lowest = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    win = _windows(x, kernel, strides or (1, 1), pads or (0, 0, 0, 0), dilations or (1, 1), lowest)
    return win.max(axis=(4, 5)).astype(x.dtype)


def avg_pool2d(x, *, kernel, strides=None, pads=None, dilations=None, ceil_mode=False, count_include_pad=False):
    pads = pads or (0, 0, 0, 0)
    win = _windows(x.astype(np.float64), kernel, strides or (1, 1), pads, dilations or (1, 1), 0)
    total = win.sum(axis=(4, 5))
    if count_include_pad:
        count = kernel[0] * kernel[1]
    else:
        ones = np.ones((1, 1) + x.shape[2:])
        count = _windows(ones, kernel, strides or (1, 1), pads, dilations or (1, 1), 0).sum(axis=(4, 5))
    return (total / count).astype(x.dtype)


def reduce(fn):
    def run(x, *, axes=None, keepdims=True):
        axes = tuple(axes) if axes is not None else None
        return np.asarray(fn(x, axis=axes, keepdims=keepdims)).astype(x.dtype)

    return run


def arg_reduce(fn):
    def run(x, *, axis, keepdims=True, select_last_index=False):
        if select_last_index:
            flipped = np.flip(x, axis=axis)
            idx = x.shape[axis] - 1 - fn(flipped, axis=axis)
        else:
            idx = fn(x, axis=axis)
        idx = np.asarray(idx, dtype=np.int64)
        return np.expand_dims(idx, axis) if keepdims else idx

    return run


def flatten(x, *, axis):
    axis = axis % (x.ndim + 1) if axis < 0 else axis
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(outer, -1) if x.size or outer else x.reshape(outer, int(np.prod(x.shape[axis:])))


def reshape(x, *, shape):
    return x.reshape(tuple(int(d) for d in shape))


def split(x, *, axis, sizes):
    cuts = np.cumsum(sizes)[:-1]
    return tuple(np.split(x, cuts, axis=axis))


def slice_(x, *, starts, ends, axes=None, steps=None):
    axes = axes or tuple(range(len(starts)))
    steps = steps or (1,) * len(starts)
    index = [slice(None)] * x.ndim
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        index[ax % x.ndim] = slice(st, en, sp)
    return x[tuple(index)]


def pad(x, *, pads, mode="constant", value=0.0):
    rank = x.ndim
    if rank == 0:
        return x.copy()
    lo = [max(p, 0) for p in pads[:rank]]
    hi = [max(p, 0) for p in pads[rank:]]
    widths = list(zip(lo, hi))
    if mode == "constant":
        y = np.pad(x, widths, mode="constant", constant_values=np.asarray(value).astype(x.dtype))
    else:
        y = np.pad(x, widths, mode={"reflect": "reflect", "edge": "edge"}[mode])
    # Negative pads crop.
    index = tuple(slice(-min(pads[k], 0), y.shape[k] + min(pads[k + rank], 0)) for k in range(rank))
    return y[index]


def gather(x, idx, *, axis):
    axis %= x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return np.take(x, idx, axis=axis)


def squeeze(x, *, axes=None):
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(a % x.ndim for a in axes))


def unsqueeze(x, *, axes):
    rank = x.ndim + len(axes)
    return np.expand_dims(x, tuple(sorted(a % rank for a in axes)))


def transpose(x, *, perm=None):
    return np.transpose(x, perm)


def gather_elements(x, idx, *, axis):
    axis %= x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    return np.take_along_axis(x, idx.astype(np.int64), axis=axis)


def cumsum(x, *, axis, exclusive=False, reverse=False):
    axis %= x.ndim
    y = np.flip(x, axis) if reverse else x
    total = np.cumsum(y, axis=axis, dtype=x.dtype)
    if exclusive:
        total = total - y
    return np.flip(total, axis) if reverse else total


def top_k(x, *, axis, k, largest=True):
    """The k largest (smallest) along axis, lower index first among equals; NaN sorts as the
    largest value, as numpy's sort does."""
    axis %= x.ndim
    n = x.shape[axis]
    if largest:
        # Stable ascending order of the flipped axis, reversed: descending, first index first.
        order = n - 1 - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    else:
        order = np.argsort(x, axis=axis, kind="stable")
    order = np.take(order, np.arange(k), axis=axis).astype(np.int64)
    return np.take_along_axis(x, order, axis=axis), order


SCATTER_COMBINE = {"none": lambda old, new: new, "add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def scatter_nd(data, idx, updates, *, reduction="none"):
    out = data.copy()
    depth = idx.shape[-1]
    combine = SCATTER_COMBINE[reduction]
    flat_idx = idx.reshape(-1, depth)
    flat_updates = updates.reshape(flat_idx.shape[0], *data.shape[depth:])
    for where, update in zip(flat_idx, flat_updates):
        key = tuple(int(i) + (data.shape[k] if i < 0 else 0) for k, i in enumerate(where))
        out[key] = combine(out[key], update)
    return out
