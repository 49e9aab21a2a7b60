"""Resize as separable interpolation: for each resized axis the importer works out, per output
position, which input positions it reads (taps) and with what weights, following the ONNX
definition (coordinate transformation, nearest rounding, linear / cubic / antialiased filters,
exclude_outside, tf_crop_and_resize extrapolation). The graph then gathers the taps along that
axis and sums them weighted; nearest is a single gather."""

from __future__ import annotations

import math

import numpy as np

from lamina.frontend.onnx.context import ImportContext, Unsupported, Val
from lamina.frontend.onnx.registry import converts

MODES = ("nearest", "linear", "cubic")
COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def source_coordinate(o: int, in_size: int, out_size: int, scale: float, coord: str, roi: tuple[float, float]) -> float:
    """Where output position o samples the input axis."""
    width = scale * in_size  # the real-valued output width ONNX's formulas use
    if coord == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if coord == "half_pixel_symmetric":
        offset = in_size / 2 * (1 - out_size / width)
        return offset + (o + 0.5) / scale - 0.5
    if coord == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if width != 1 else -0.5
    if coord == "align_corners":
        return 0.0 if width == 1 else o * (in_size - 1) / (width - 1)
    if coord == "asymmetric":
        return o / scale
    if coord == "tf_half_pixel_for_nn":
        return (o + 0.5) / scale
    start, end = roi
    if width == 1:
        return (end - start) * (in_size - 1) / 2 + start * (in_size - 1)
    return o * (end - start) * (in_size - 1) / (width - 1) + start * (in_size - 1)


def nearest_tap(x: float, rounding: str) -> int:
    low = math.floor(x)
    if x == low:
        return low
    frac = x - low
    up = {"round_prefer_floor": frac > 0.5, "round_prefer_ceil": frac >= 0.5, "floor": False, "ceil": True}[rounding]
    return low + 1 if up else low


def cubic_kernel(t: float, a: float) -> float:
    t = abs(t)
    if t <= 1:
        return (a + 2) * t**3 - (a + 3) * t**2 + 1
    if t < 2:
        return a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return 0.0


def filter_taps(ratio: float, scale: float, mode: str, cubic_a: float, antialias: bool) -> tuple[range, list[float]]:
    """Offsets from the base position and their weights, for a sample at base + ratio with
    ratio in (0, 1]. Antialiasing widens the filter by 1/scale when downsampling."""
    support = 1 if mode == "linear" else 2
    stretch = min(scale, 1.0) if antialias else 1.0
    first = math.floor(-support / stretch) + 1
    offsets = range(first, 2 - first) if antialias else range(1 - support, 1 + support)
    if mode == "linear":
        weights = [max(0.0, 1 - abs((k - ratio) * stretch)) for k in offsets]
    else:
        weights = [cubic_kernel((k - ratio) * stretch, cubic_a) for k in offsets]
    if antialias:
        total = sum(weights)
        weights = [w / total for w in weights]
    return offsets, weights


def axis_taps(in_size: int, out_size: int, scale: float, a: dict, roi: tuple[float, float]):
    """(indices [out, taps], weights [out, taps], outside [out]) for one resized axis."""
    rows_idx, rows_w, outside = [], [], []
    for o in range(out_size):
        x = source_coordinate(o, in_size, out_size, scale, a["coord"], roi)
        outside.append(a["coord"] == "tf_crop_and_resize" and not 0 <= x <= in_size - 1)
        if a["mode"] == "nearest":
            rows_idx.append([min(max(nearest_tap(x, a["nearest_mode"]), 0), in_size - 1)])
            rows_w.append([1.0])
            continue
        base = math.floor(x) if x != math.floor(x) else int(x) - 1
        offsets, weights = filter_taps(x - base, scale, a["mode"], a["cubic_a"], a["antialias"])
        positions = [base + k for k in offsets]
        if a["exclude_outside"]:
            weights = [w if 0 <= p < in_size else 0.0 for p, w in zip(positions, weights)]
            total = sum(weights)
            weights = [w / total for w in weights]
        rows_idx.append([min(max(p, 0), in_size - 1) for p in positions])  # edge padding
        rows_w.append(weights)
    return np.array(rows_idx, np.int64), np.array(rows_w, np.float64), np.array(outside)


def _text(attrs, name: str, default: str) -> str:
    v = attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else v


def _floats(ctx: ImportContext, v: Val | None, what: str) -> list[float] | None:
    if v is None:
        return None
    values = [float(f) for f in ctx.constant_array(v, what).reshape(-1)]
    return values or None


def _output_geometry(ctx, x: Val, ins, attrs, axes: list[int]):
    """Per resized axis: (axis, input size, output size, scale, roi start/end)."""
    shape = ctx.shape(x)
    rank = len(shape)
    if ctx.opset < 11:
        scales, sizes, roi = _floats(ctx, ins[1], "Resize scales"), None, None
    else:
        roi = _floats(ctx, ins[1] if len(ins) > 1 else None, "Resize roi")
        scales = _floats(ctx, ins[2] if len(ins) > 2 else None, "Resize scales")
        sizes = ctx.static_ints(ins[3], "Resize sizes") if len(ins) > 3 and ins[3] is not None else None
    if (scales is None) == (sizes is None):
        raise Unsupported("Resize needs exactly one of scales and sizes")
    given = sizes if sizes is not None else scales
    if len(given) != len(axes):
        raise Unsupported(f"Resize {'sizes' if sizes else 'scales'} has {len(given)} values for {len(axes)} axes")
    in_sizes = [shape[k] for k in axes]
    out = []
    if sizes is not None:
        factors = [s / i for s, i in zip(sizes, in_sizes)]
        policy = _text(attrs, "keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            one = min(factors) if policy == "not_larger" else max(factors)
            factors = [one] * len(axes)
            sizes = [int(one * i + 0.5) for i in in_sizes]
    else:
        factors = scales
        sizes = [int(math.floor(f * i)) for f, i in zip(factors, in_sizes)]
    for j, k in enumerate(axes):
        start, end = (roi[j], roi[j + len(axes)]) if roi and len(roi) == 2 * len(axes) else (0.0, 1.0)
        if roi and len(roi) == 2 * rank and len(axes) != rank:
            start, end = roi[k], roi[k + rank]
        out.append((k, in_sizes[j], sizes[j], factors[j], (start, end)))
    return out


@converts("Resize", "Upsample")
def resize(ctx: ImportContext, ins, attrs):
    x = ins[0]
    shape = ctx.shape(x)
    rank = len(shape)
    old = ctx.opset < 11 or ctx.node.op_type == "Upsample"
    a = {
        "mode": _text(attrs, "mode", "nearest"),
        "coord": "asymmetric" if old else _text(attrs, "coordinate_transformation_mode", "half_pixel"),
        "nearest_mode": "floor" if old else _text(attrs, "nearest_mode", "round_prefer_floor"),
        "cubic_a": attrs.get("cubic_coeff_a", -0.75),
        "exclude_outside": bool(attrs.get("exclude_outside", 0)),
        "antialias": bool(attrs.get("antialias", 0)),
    }
    if a["mode"] not in MODES:
        raise Unsupported(f"Resize mode '{a['mode']}' (lamina has {', '.join(MODES)})")
    if a["coord"] not in COORDINATE_MODES:
        raise Unsupported(f"Resize coordinate_transformation_mode '{a['coord']}'")
    if a["nearest_mode"] not in NEAREST_MODES:
        raise Unsupported(f"Resize nearest_mode '{a['nearest_mode']}'")
    if a["mode"] == "nearest" and a["antialias"]:
        raise Unsupported("Resize with antialias in nearest mode")
    if ctx.node.op_type == "Upsample":
        ins = [x, ins[1]] if len(ins) > 1 else [x, Val(const=np.array(attrs["scales"], np.float32))]
    axes = [k % rank for k in attrs.get("axes", range(rank))]
    dtype = ctx.dtype(x)
    if a["mode"] != "nearest" and not np.issubdtype(dtype, np.floating):
        raise Unsupported(f"Resize {a['mode']} of {dtype} data (lamina interpolates floats)")
    y = ctx.ssa(x)
    outside_mask = None
    for axis, in_size, out_size, scale, roi in _output_geometry(ctx, Val(ssa=y), ins, attrs, axes):
        if not isinstance(in_size, int):
            raise Unsupported(f"Resize of symbolic axis {axis}")
        if scale == 1.0 and out_size == in_size and roi == (0.0, 1.0):
            continue
        idx, weights, outside = axis_taps(in_size, out_size, scale, a, roi)
        broadcast = [out_size if k == axis else 1 for k in range(rank)]
        if outside.any():
            m = outside.reshape(broadcast)
            outside_mask = m if outside_mask is None else (outside_mask | m)
        y = _weighted_gather(ctx, y, idx, weights, axis, broadcast, dtype)
    if outside_mask is not None:
        fill = ctx.scalar(attrs.get("extrapolation_value", 0.0), dtype)
        y = ctx.emit("where", [Val(const=outside_mask), fill, y])
    return [Val(ssa=y)]


def _weighted_gather(ctx, y, idx, weights, axis, broadcast, dtype):
    if idx.shape[1] == 1 and np.all(weights == 1.0):
        return ctx.emit("gather", [y, Val(const=idx[:, 0].copy())], {"axis": axis})
    total = None
    for t in range(idx.shape[1]):
        if not weights[:, t].any():
            continue
        taken = ctx.emit("gather", [y, Val(const=idx[:, t].copy())], {"axis": axis})
        term = ctx.emit("mul", [taken, Val(const=weights[:, t].reshape(broadcast).astype(dtype))])
        total = term if total is None else ctx.emit("add", [total, term])
    return total
