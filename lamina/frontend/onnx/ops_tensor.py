"""Shape and data-movement ops, including the shape subgraphs exporters emit (Shape, Gather,
Concat, Unsqueeze feeding Reshape/Expand), which are followed symbolically instead of run."""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from lamina.frontend.onnx.context import ImportContext, Unsupported, Val, numpy_dtype_of
from lamina.frontend.onnx.registry import converts
from lamina.ir.dims import Dim, is_static

INT64_MAX = 2**63 - 1


def out(v) -> list[Val]:
    return [Val(ssa=v)]


@converts("Constant")
def constant(ctx, ins, attrs):
    node = ctx.node
    attr = node.attribute[0]
    kind = attr.name
    if kind == "value":
        return [Val(const=numpy_helper.to_array(attr.t))]
    values = {
        "value_float": lambda: np.array(attr.f, np.float32),
        "value_floats": lambda: np.array(list(attr.floats), np.float32),
        "value_int": lambda: np.array(attr.i, np.int64),
        "value_ints": lambda: np.array(list(attr.ints), np.int64),
    }
    if kind not in values:
        raise Unsupported(f"Constant with {kind}")
    return [Val(const=values[kind]())]


@converts("Shape")
def shape(ctx, ins, attrs):
    dims = list(ctx.shape(ins[0]))
    start = attrs.get("start", 0)
    end = attrs.get("end", len(dims))
    return [Val(dims=dims[slice(start, end)])]


@converts("Size")
def size(ctx, ins, attrs):
    total: Dim = 1
    from lamina.ir.dims import dim_mul

    for d in ctx.shape(ins[0]):
        total = dim_mul(total, d)
    if not is_static(total):
        raise Unsupported("Size of a symbolic shape used as data")
    return [Val(const=np.array(total, np.int64))]


def _dims_of(ctx, v: Val) -> list[Dim] | None:
    if v.dims is not None:
        return v.dims
    c = ctx.constant_value(v)
    if c is not None and c.dtype == np.int64 and c.ndim <= 1:
        return [int(x) for x in c.reshape(-1)]
    return None


@converts("Gather")
def gather(ctx, ins, attrs):
    x, idx = ins
    axis = attrs.get("axis", 0)
    if x.dims is not None and x.ssa is None:
        i = ctx.constant_value(idx)
        if i is None:
            raise Unsupported("Gather from a shape with run-time indices")
        picked = [x.dims[int(k)] for k in np.asarray(i).reshape(-1)]
        return [Val(dims=picked, scalar=np.asarray(i).ndim == 0)]
    return out(ctx.emit("gather", [x, idx], {"axis": axis}))


@converts("Concat")
def concat(ctx, ins, attrs):
    axis = attrs["axis"]
    if any(v.dims is not None and v.ssa is None for v in ins) and not any(v.scalar for v in ins):
        parts = [_dims_of(ctx, v) for v in ins]
        if all(p is not None for p in parts) and axis in (0, -1):
            return [Val(dims=[d for p in parts for d in p])]
    return out(ctx.emit("concat", ins, {"axis": axis}))


def _axes(ctx, ins, attrs, since: int):
    if ctx.opset >= since:
        return ctx.static_ints(ins[1], "axes") if len(ins) > 1 and ins[1] is not None else None
    return list(attrs["axes"]) if "axes" in attrs else None


@converts("Unsqueeze")
def unsqueeze(ctx, ins, attrs):
    axes = _axes(ctx, ins, attrs, 13)
    x = ins[0]
    if x.dims is not None and x.ssa is None and x.scalar and axes in ([0], [-1]):
        return [Val(dims=list(x.dims))]
    return out(ctx.emit("unsqueeze", [x], {"axes": axes}))


@converts("Squeeze")
def squeeze(ctx, ins, attrs):
    axes = _axes(ctx, ins, attrs, 13)
    return out(ctx.emit("squeeze", [ins[0]], {"axes": axes}))


@converts("Reshape")
def reshape(ctx, ins, attrs):
    x, target = ins
    dims = ctx.shape_dims(target, "Reshape's target shape")
    in_shape = list(ctx.shape(x))
    allow_zero = attrs.get("allowzero", 0)
    resolved = []
    for i, d in enumerate(dims):
        if d == 0 and not allow_zero:
            resolved.append(in_shape[i])
        else:
            resolved.append(d)
    return out(ctx.emit("reshape", [x], {"shape": resolved}))


@converts("Transpose")
def transpose(ctx, ins, attrs):
    perm = attrs.get("perm")
    return out(ctx.emit("transpose", [ins[0]], {"perm": list(perm) if perm is not None else None}))


@converts("Split")
def split(ctx, ins, attrs):
    x = ins[0]
    axis = attrs.get("axis", 0)
    size = ctx.shape(x)[axis]
    n_out = len(ctx.node.output)
    if ctx.opset >= 13:
        sizes = ctx.static_ints(ins[1], "Split sizes") if len(ins) > 1 and ins[1] is not None else None
    else:
        sizes = list(attrs["split"]) if "split" in attrs else None
    if sizes is None:
        if not isinstance(size, int):
            raise Unsupported("Split of a symbolic axis into equal parts")
        parts = attrs.get("num_outputs", n_out)
        chunk = -(-size // parts)
        sizes = [chunk] * (parts - 1) + [size - chunk * (parts - 1)]
    if 0 not in sizes:
        return [Val(ssa=v) for v in ctx.emit_many("split", [x], {"axis": axis, "sizes": sizes})]
    # graph.split takes positive sizes: the empty pieces are empty constants.
    shape = list(ctx.shape(x))
    if not all(isinstance(d, int) for d in shape):
        raise Unsupported("Split into empty pieces of a tensor with symbolic dims")
    empty = np.zeros([0 if k == axis % len(shape) else d for k, d in enumerate(shape)], ctx.dtype(x))
    nonzero = [n for n in sizes if n]
    pieces = iter(ctx.emit_many("split", [x], {"axis": axis, "sizes": nonzero}) if len(nonzero) > 1 else [ctx.ssa(x)] * len(nonzero))
    return [Val(ssa=next(pieces)) if n else Val(const=empty) for n in sizes]


def _onnx_slice_bounds(start: int, end: int, step: int, dim: int) -> tuple[int, int]:
    """ONNX's clamping of start/end, expressed as Python slice bounds."""
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
        return start, end
    start = min(max(start, -1), dim - 1)
    end = min(max(end, -1), dim - 1)
    return start, (end if end >= 0 else -dim - 1)


@converts("Slice")
def slice_(ctx, ins, attrs):
    x = ins[0]
    if ctx.opset >= 10:
        starts = ctx.static_ints(ins[1], "Slice starts")
        ends = ctx.static_ints(ins[2], "Slice ends")
        axes = ctx.static_ints(ins[3], "Slice axes") if len(ins) > 3 and ins[3] is not None else None
        steps = ctx.static_ints(ins[4], "Slice steps") if len(ins) > 4 and ins[4] is not None else None
    else:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes = list(attrs["axes"]) if "axes" in attrs else None
        steps = None
    rank = ctx.rank(x)
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    shape = ctx.shape(x)
    if x.dims is not None and x.ssa is None and len(axes) == 1 and steps == [1]:
        s, e = _onnx_slice_bounds(starts[0], ends[0], 1, len(x.dims))
        return [Val(dims=x.dims[s:e])]
    new_starts, new_ends = [], []
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        dim = shape[ax % rank]
        if isinstance(dim, int):
            s, e = _onnx_slice_bounds(st, en, sp, dim)
        elif sp > 0 and st >= 0 and (en >= INT64_MAX // 2):
            s, e = st, INT64_MAX
        else:
            raise Unsupported("Slice of a symbolic axis with negative or bounded indices")
        new_starts.append(s)
        new_ends.append(e)
    return out(ctx.emit("slice", [x], {"starts": new_starts, "ends": new_ends, "axes": [a % rank for a in axes], "steps": steps}))


@converts("Pad")
def pad(ctx, ins, attrs):
    x = ins[0]
    mode = attrs.get("mode", "constant")
    if isinstance(mode, bytes):
        mode = mode.decode()
    if mode not in ("constant", "reflect", "edge", "wrap"):
        raise Unsupported(f"Pad mode '{mode}'")
    rank = ctx.rank(x)
    if ctx.opset >= 11:
        pads = ctx.static_ints(ins[1], "Pad pads")
        value = ctx.constant_array(ins[2], "Pad constant_value") if len(ins) > 2 and ins[2] is not None else None
        value = float(np.asarray(value).reshape(-1)[0]) if value is not None and np.asarray(value).size else 0.0
        axes = ctx.static_ints(ins[3], "Pad axes") if len(ins) > 3 and ins[3] is not None else None
    else:
        pads = list(attrs.get("pads", attrs.get("paddings", [])))
        value = attrs.get("value", 0.0)
        axes = None
    if axes is not None:
        full = [0] * (2 * rank)
        k = len(axes)
        for i, a in enumerate(axes):
            full[a % rank] = pads[i]
            full[a % rank + rank] = pads[i + k]
        pads = full
    if mode == "wrap":
        return out(_wrap_pad(ctx, x, pads))
    return out(ctx.emit("pad", [x], {"pads": pads, "mode": mode, "value": value}))


def _wrap_pad(ctx, x: Val, pads: list[int]):
    """Pad mode 'wrap' (periodic): per padded axis, a gather of (i mod size) for i from -begin
    to size + end."""
    rank = ctx.rank(x)
    if any(p < 0 for p in pads):
        raise Unsupported("Pad mode 'wrap' with negative pads (cropping)")
    y = ctx.ssa(x)
    for axis in range(rank):
        lo, hi = pads[axis], pads[axis + rank]
        if lo == 0 and hi == 0:
            continue
        size = y.type.shape[axis]
        if not isinstance(size, int) or size == 0:
            raise Unsupported("Pad mode 'wrap' on a symbolic or empty axis")
        indices = np.arange(-lo, size + hi, dtype=np.int64) % size
        y = ctx.emit("gather", [y, ctx.constant(indices)], {"axis": axis})
    return y


@converts("Expand")
def expand(ctx, ins, attrs):
    x, target = ins
    dims = ctx.shape_dims(target, "Expand's shape")
    in_shape = list(ctx.shape(x))
    rank = max(len(dims), len(in_shape))
    dims = [1] * (rank - len(dims)) + dims
    in_shape = [1] * (rank - len(in_shape)) + in_shape
    final = [a if b == 1 else b for a, b in zip(in_shape, dims)]
    return out(ctx.emit("broadcast_to", [x], {"shape": final}))


@converts("ConstantOfShape")
def constant_of_shape(ctx, ins, attrs):
    dims = ctx.shape_dims(ins[0], "ConstantOfShape's shape")
    value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, np.float32)
    scalar = np.asarray(value).reshape(())
    if all(is_static(d) for d in dims):
        return [Val(const=np.full([int(d) for d in dims], scalar, dtype=scalar.dtype))]
    return out(ctx.emit("broadcast_to", [ctx.constant(scalar)], {"shape": dims}))


@converts("Range")
def range_(ctx, ins, attrs):
    start, limit, delta = (ctx.constant_array(v, f"Range {what}") for v, what in zip(ins, ("start", "limit", "delta")))
    return [Val(const=np.arange(start, limit, delta, dtype=np.asarray(start).dtype))]


@converts("Tile")
def tile(ctx, ins, attrs):
    x, repeats = ins
    reps = ctx.static_ints(repeats, "Tile repeats")
    shape = list(ctx.shape(x))
    # tile = interleave a unit axis before each axis, broadcast it to the repeat count, merge.
    expanded = ctx.emit("reshape", [x], {"shape": [d for s in shape for d in (1, s)]})
    from lamina.ir.dims import dim_mul

    broadcast = ctx.emit("broadcast_to", [expanded], {"shape": [d for r, s in zip(reps, shape) for d in (r, s)]})
    return out(ctx.emit("reshape", [broadcast], {"shape": [dim_mul(r, s) for r, s in zip(reps, shape)]}))


@converts("DepthToSpace")
def depth_to_space(ctx, ins, attrs):
    x = ins[0]
    b = attrs["blocksize"]
    n, c, h, w = ctx.shape(x)
    mode = attrs.get("mode", "DCR")
    if mode == "DCR":
        t = ctx.emit("reshape", [x], {"shape": [n, b, b, c // b // b, h, w]})
        t = ctx.emit("transpose", [t], {"perm": [0, 3, 4, 1, 5, 2]})
    else:
        t = ctx.emit("reshape", [x], {"shape": [n, c // b // b, b, b, h, w]})
        t = ctx.emit("transpose", [t], {"perm": [0, 1, 4, 2, 5, 3]})
    from lamina.ir.dims import dim_mul

    return out(ctx.emit("reshape", [t], {"shape": [n, c // b // b, dim_mul(h, b), dim_mul(w, b)]}))


@converts("SpaceToDepth")
def space_to_depth(ctx, ins, attrs):
    x = ins[0]
    b = attrs["blocksize"]
    n, c, h, w = ctx.shape(x)
    if not (isinstance(h, int) and isinstance(w, int)):
        raise Unsupported("SpaceToDepth over symbolic spatial sizes")
    t = ctx.emit("reshape", [x], {"shape": [n, c, h // b, b, w // b, b]})
    perm = [0, 1, 3, 5, 2, 4] if attrs.get("mode", "DCR") == "CRD" else [0, 3, 5, 1, 2, 4]
    t = ctx.emit("transpose", [t], {"perm": perm})
    return out(ctx.emit("reshape", [t], {"shape": [n, c * b * b, h // b, w // b]}))


@converts("Trilu")
def trilu(ctx, ins, attrs):
    x = ins[0]
    k = 0
    if len(ins) > 1 and ins[1] is not None:
        k_value = ctx.constant_array(ins[1], "Trilu k")
        k = int(np.asarray(k_value).reshape(()))
    shape = ctx.shape(x)
    rows, cols = shape[-2], shape[-1]
    if not (isinstance(rows, int) and isinstance(cols, int)):
        raise Unsupported("Trilu over symbolic matrix sizes")
    upper = attrs.get("upper", 1)
    mask = np.triu(np.ones((rows, cols), bool), k) if upper else np.tril(np.ones((rows, cols), bool), k)
    zero = ctx.scalar(0, ctx.dtype(x))
    return out(ctx.emit("where", [ctx.constant(mask), ctx.ssa(x), zero]))


@converts("EyeLike")
def eye_like(ctx, ins, attrs):
    shape = ctx.shape(ins[0])
    if not all(isinstance(d, int) for d in shape):
        raise Unsupported("EyeLike of a symbolic shape")
    dtype = numpy_dtype_of(attrs["dtype"]) if "dtype" in attrs else ctx.dtype(ins[0])
    return [Val(const=np.eye(shape[0], shape[1], k=attrs.get("k", 0), dtype=dtype))]
