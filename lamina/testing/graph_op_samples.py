"""How to draw a well-typed use of each graph op: op name -> sampler(draw, x, ctx) giving the
operand values and attributes for one application to the tensor value `x`.

Samplers create whatever extra operands an op needs (weights, indices, a second broadcastable
tensor) through `ctx`. Keeping one entry per row means every op of the table appears in
generated programs; `missing_samplers()` lists rows that have none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from xdsl.ir import SSAValue

from lamina.dialects.graph import Graph
from lamina.ir.types import TensorType, f32, i1, i32, i64

Draw = Callable[[st.SearchStrategy], Any]


@dataclass
class SampleContext:
    """Lets a sampler add constants and find other values of the function being built."""

    add_const: Callable[[np.ndarray], SSAValue]
    # emit("greater", [a, b], {}) appends a graph op to the function and returns its results.
    emit: Callable[[str, list[SSAValue], dict[str, Any]], list[SSAValue]]
    pool: list[SSAValue]


Sample = tuple[list[SSAValue], dict[str, Any]]
Sampler = Callable[[Draw, SSAValue, SampleContext], Sample | None]


def _t(x: SSAValue) -> TensorType:
    return x.type


def _static(x: SSAValue) -> bool:
    return _t(x).is_static


def _axis(draw: Draw, rank: int) -> int:
    return draw(st.integers(-rank, rank - 1)) if rank else 0


def _const_like(draw: Draw, ctx: SampleContext, shape, dtype=np.float32, low=-2.0, high=2.0) -> SSAValue:
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.bool_):
        return ctx.add_const(rng.random(shape) < 0.5)
    if np.issubdtype(dtype, np.integer):
        return ctx.add_const(rng.integers(int(low), int(high) + 1, size=shape).astype(dtype))
    return ctx.add_const(rng.uniform(low, high, size=shape).astype(dtype))


def _broadcast_partner_shape(draw: Draw, x: SSAValue) -> list:
    """A static shape that broadcasts with x: a suffix of x's shape with some dims set to 1."""
    shape = list(_t(x).shape)
    keep = draw(st.integers(0, len(shape)))
    suffix = shape[len(shape) - keep :]
    return [1 if (not isinstance(d, int) or draw(st.booleans())) else d for d in suffix]


def _partner(draw: Draw, x: SSAValue, ctx: SampleContext) -> SSAValue:
    same = [v for v in ctx.pool if v is not x and _t(v) == _t(x)]
    if same and draw(st.booleans()):
        return draw(st.sampled_from(same))
    return _const_like(draw, ctx, _broadcast_partner_shape(draw, x), _t(x).dtype)


def unary(draw, x, ctx):
    return [x], {}


def binary(draw, x, ctx):
    y = _partner(draw, x, ctx)
    return ([x, y] if draw(st.booleans()) else [y, x]), {}


def compare(draw, x, ctx):
    return [x, _partner(draw, x, ctx)], {}


def logical(draw, x, ctx):
    (b,) = ctx.emit("greater", [x, _const_like(draw, ctx, [], _t(x).dtype)], {})
    return [b, _const_like(draw, ctx, _broadcast_partner_shape(draw, b), np.bool_)], {}


def leaky_relu(draw, x, ctx):
    return [x], {"alpha": draw(st.sampled_from([0.01, 0.2, 1.5]))}


def gelu(draw, x, ctx):
    return [x], {"approximate": draw(st.sampled_from(["none", "tanh"]))}


def clip(draw, x, ctx):
    lo = draw(st.sampled_from([None, -1.0, 0.0]))
    hi = draw(st.sampled_from([None, 0.5, 2.0]))
    return [x], {"min": lo, "max": hi}


def not_(draw, x, ctx):
    (b,) = ctx.emit("less", [x, _const_like(draw, ctx, [], _t(x).dtype)], {})
    return [b], {}


def cast(draw, x, ctx):
    return [x], {"to": draw(st.sampled_from([i32, i64, f32, i1]))}


def where(draw, x, ctx):
    cond = _const_like(draw, ctx, _broadcast_partner_shape(draw, x), np.bool_)
    return [cond, x, _partner(draw, x, ctx)], {}


def matmul(draw, x, ctx):
    t = _t(x)
    if t.rank < 1 or not isinstance(t.shape[-1], int):
        return None
    k = t.shape[-1]
    n = draw(st.integers(1, 4))
    rank = draw(st.sampled_from([1, 2])) if t.rank <= 2 else draw(st.sampled_from([2, t.rank]))
    shape = [k] if rank == 1 else [*t.shape[-rank:-2], k, n] if rank > 2 else [k, n]
    if rank > 2 and not all(isinstance(d, int) for d in shape):
        shape = [k, n]
    return [x, _const_like(draw, ctx, shape, t.dtype)], {}


def conv2d(draw, x, ctx):
    t = _t(x)
    if t.rank != 4 or not all(isinstance(d, int) for d in t.shape[1:]):
        return None
    c = t.shape[1]
    groups = draw(st.sampled_from([g for g in (1, c) if c % g == 0]))
    o = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, min(3, t.shape[2]))), draw(st.integers(1, min(3, t.shape[3])))
    w = _const_like(draw, ctx, [o, c // groups, kh, kw], t.dtype)
    ops = [x, w]
    if draw(st.booleans()):
        ops.append(_const_like(draw, ctx, [o], t.dtype))
    pads = draw(st.sampled_from([(0, 0, 0, 0), (1, 1, 1, 1), (0, 1, 1, 0)]))
    return ops, {"strides": draw(st.sampled_from([(1, 1), (2, 1), (2, 2)])), "pads": pads, "groups": groups}


def winograd_input(draw, x, ctx):
    """x taken as NHWC, padded at the bottom and right as far as the drawn tiles read."""
    t = _t(x)
    if t.rank != 4 or not all(isinstance(d, int) for d in t.shape):
        return None
    out = draw(st.sampled_from([2, 4]))
    th, tw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    grow_h = max(0, out * th + 2 - t.shape[1]) + draw(st.integers(0, 1))
    grow_w = max(0, out * tw + 2 - t.shape[2]) + draw(st.integers(0, 1))
    if grow_h or grow_w:
        (x,) = ctx.emit("pad", [x], {"pads": [0, 0, 0, 0, 0, grow_h, grow_w, 0]})
    return [x], {"tiles": [th, tw], "output_tile": out}


def winograd_output(draw, x, ctx):
    """The transformed tiles of x (see winograd_input), for an output of m*T down to m*T - m + 1 rows."""
    sample = winograd_input(draw, x, ctx)
    if sample is None:
        return None
    operands, attrs = sample
    (tiles,) = ctx.emit("winograd_input", operands, attrs)
    th, tw = attrs["tiles"]
    out = attrs["output_tile"]
    return [tiles], {"size": [out * th - draw(st.integers(0, out - 1)), out * tw - draw(st.integers(0, out - 1))]}


def pool2d(draw, x, ctx):
    t = _t(x)
    if t.rank != 4 or not all(isinstance(d, int) for d in t.shape[2:]):
        return None
    kernel = (draw(st.integers(1, min(3, t.shape[2]))), draw(st.integers(1, min(3, t.shape[3]))))
    pads = (0, 0, 0, 0) if kernel == (1, 1) else draw(st.sampled_from([(0, 0, 0, 0), (0, 0, 1, 1)]))
    return [x], {"kernel": kernel, "strides": draw(st.sampled_from([(1, 1), (2, 2)])), "pads": pads}


def global_pool(draw, x, ctx):
    return ([x], {}) if _t(x).rank >= 3 else None


def batch_norm(draw, x, ctx):
    t = _t(x)
    if t.rank < 2 or not isinstance(t.shape[1], int):
        return None
    c = [t.shape[1]]
    params = [_const_like(draw, ctx, c, t.dtype) for _ in range(3)]
    var = _const_like(draw, ctx, c, t.dtype, 0.5, 2.0)
    return [x, *params, var], {"epsilon": 1e-5}


def layer_norm(draw, x, ctx):
    t = _t(x)
    if t.rank < 1:
        return None
    axis = draw(st.integers(max(-t.rank, -2), -1))
    norm = list(t.shape[axis:])
    if not all(isinstance(d, int) for d in norm):
        return None
    params = [_const_like(draw, ctx, norm, t.dtype) for _ in range(draw(st.integers(0, 2)))]
    return [x, *params], {"axis": axis}


def axis_op(draw, x, ctx):
    return ([x], {"axis": _axis(draw, _t(x).rank)}) if _t(x).rank else None


def reduce(draw, x, ctx):
    rank = _t(x).rank
    axes = draw(st.one_of(st.none(), st.lists(st.integers(0, max(rank - 1, 0)), min_size=1, max_size=rank, unique=True))) if rank else None
    return [x], {"axes": axes, "keepdims": draw(st.booleans())}


def arg_reduce(draw, x, ctx):
    if _t(x).rank == 0:
        return None
    return [x], {"axis": _axis(draw, _t(x).rank), "keepdims": draw(st.booleans()), "select_last_index": draw(st.booleans())}


def reshape(draw, x, ctx):
    t = _t(x)
    shape = list(t.shape)
    choice = draw(st.integers(0, 2))
    if choice == 0 and len(shape) >= 2:  # merge the last two dims
        return [x], {"shape": [*shape[:-2], -1]}
    if choice == 1 and shape and isinstance(shape[-1], int) and shape[-1] % 2 == 0:  # split the last dim
        return [x], {"shape": [*shape[:-1], 2, shape[-1] // 2]}
    return [x], {"shape": [*shape, 1]}


def flatten(draw, x, ctx):
    return [x], {"axis": draw(st.integers(0, _t(x).rank))}


def transpose(draw, x, ctx):
    perm = draw(st.permutations(list(range(_t(x).rank))))
    return [x], {"perm": perm if draw(st.booleans()) else None}


def broadcast_to(draw, x, ctx):
    t = _t(x)
    shape = [draw(st.integers(1, 3)) if d == 1 else d for d in t.shape]
    return [x], {"shape": [draw(st.integers(1, 2)), *shape] if draw(st.booleans()) else shape}


def concat(draw, x, ctx):
    t = _t(x)
    if t.rank == 0:
        return None
    axis = _axis(draw, t.rank)
    others = [v for v in ctx.pool if _t(v).rank == t.rank and _t(v).element_type == t.element_type and all(a == b for k, (a, b) in enumerate(zip(_t(v).shape, t.shape)) if k != axis % t.rank)]
    extra = draw(st.lists(st.sampled_from(others), max_size=2)) if others else []
    return [x, *extra], {"axis": axis}


def split(draw, x, ctx):
    t = _t(x)
    static_axes = [k for k, d in enumerate(t.shape) if isinstance(d, int) and d >= 2]
    if not static_axes:
        return None
    axis = draw(st.sampled_from(static_axes))
    size = t.shape[axis]
    first = draw(st.integers(1, size - 1))
    return [x], {"axis": axis, "sizes": [first, size - first]}


def slice_(draw, x, ctx):
    t = _t(x)
    axes = [k for k, d in enumerate(t.shape) if isinstance(d, int)]
    if not axes:
        return None
    axis = draw(st.sampled_from(axes))
    size = t.shape[axis]
    start = draw(st.integers(-size, size))
    end = draw(st.integers(-size, size + 2))
    step = draw(st.sampled_from([1, 1, 2, -1]))
    if not range(*slice(start, end, step).indices(size)):
        # Empty tensors make reductions undefined downstream: keep slices non-empty.
        start, end, step = (0, size, 1) if step > 0 else (size - 1, -size - 1, -1)
    return [x], {"starts": [start], "ends": [end], "axes": [axis], "steps": [step]}


def pad(draw, x, ctx):
    rank = _t(x).rank
    mode = draw(st.sampled_from(["constant", "edge", "reflect"]))
    shape = _t(x).shape
    pads = []
    for side in range(2):
        for k in range(rank):
            limit = 0 if not isinstance(shape[k], int) else (min(shape[k] - 1, 2) if mode == "reflect" else 2)
            pads.append(draw(st.integers(0, max(limit, 0))))
    return [x], {"pads": pads, "mode": mode, "value": draw(st.sampled_from([0.0, 1.5]))}


def gather(draw, x, ctx):
    t = _t(x)
    axes = [k for k, d in enumerate(t.shape) if isinstance(d, int) and d > 0]
    if not axes:
        return None
    axis = draw(st.sampled_from(axes))
    size = t.shape[axis]
    idx_shape = draw(st.lists(st.integers(1, 3), max_size=2))
    idx = _const_like(draw, ctx, idx_shape, np.int64, -size, size - 1)
    return [x, idx], {"axis": axis}


def gather_elements(draw, x, ctx):
    t = _t(x)
    axes = [k for k, d in enumerate(t.shape) if isinstance(d, int) and d > 0]
    if not axes:
        return None
    axis = draw(st.sampled_from(axes))
    size = t.shape[axis]
    shape = [draw(st.integers(1, 3)) if k == axis else d for k, d in enumerate(t.shape)]
    if not all(isinstance(d, int) for d in shape):
        return None
    return [x, _const_like(draw, ctx, shape, np.int64, -size, size - 1)], {"axis": axis}


def cumsum(draw, x, ctx):
    if _t(x).rank == 0:
        return None
    return [x], {"axis": _axis(draw, _t(x).rank), "exclusive": draw(st.booleans()), "reverse": draw(st.booleans())}


def top_k(draw, x, ctx):
    t = _t(x)
    axes = [k for k, d in enumerate(t.shape) if isinstance(d, int) and d > 0]
    if not axes:
        return None
    axis = draw(st.sampled_from(axes))
    return [x], {"axis": axis, "k": draw(st.integers(1, t.shape[axis])), "largest": draw(st.booleans())}


def scatter_nd(draw, x, ctx):
    t = _t(x)
    if t.rank == 0 or not t.is_static:
        return None
    depth = draw(st.integers(1, t.rank))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    columns = [rng.integers(-d, d, size=batch + [1]) for d in t.shape[:depth]]
    indices = ctx.add_const(np.concatenate(columns, axis=-1).astype(np.int64))
    updates = _const_like(draw, ctx, batch + list(t.shape[depth:]), t.dtype)
    return [x, indices, updates], {"reduction": draw(st.sampled_from(["none", "add", "mul", "max", "min"]))}


def squeeze(draw, x, ctx):
    ones = [k for k, d in enumerate(_t(x).shape) if d == 1]
    if not ones:
        return None
    return [x], {"axes": draw(st.lists(st.sampled_from(ones), min_size=1, unique=True)) if draw(st.booleans()) else None}


def unsqueeze(draw, x, ctx):
    rank = _t(x).rank
    return [x], {"axes": [draw(st.integers(-(rank + 1), rank))]}


def const(draw, x, ctx):
    return None  # constants are created by the samplers of the ops that use them


SAMPLERS: dict[str, Sampler] = {
    "const": const,
    **{name: binary for name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "mod")},
    **{
        name: unary
        for name in (
            "neg abs exp log sqrt rsqrt tanh sigmoid erf sin cos floor ceil round sign reciprocal relu".split()
        )
    },
    "leaky_relu": leaky_relu,
    "gelu": gelu,
    "clip": clip,
    "not": not_,
    "cast": cast,
    "where": where,
    **{name: compare for name in ("equal", "less", "less_equal", "greater", "greater_equal")},
    **{name: logical for name in ("and", "or", "xor")},
    "matmul": matmul,
    "conv2d": conv2d,
    "winograd_input": winograd_input,
    "winograd_output": winograd_output,
    "max_pool2d": pool2d,
    "avg_pool2d": pool2d,
    "global_avg_pool2d": global_pool,
    "global_max_pool2d": global_pool,
    "batch_norm": batch_norm,
    "layer_norm": layer_norm,
    "softmax": axis_op,
    "log_softmax": axis_op,
    **{name: reduce for name in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod")},
    "argmax": arg_reduce,
    "argmin": arg_reduce,
    "reshape": reshape,
    "flatten": flatten,
    "transpose": transpose,
    "broadcast_to": broadcast_to,
    "concat": concat,
    "split": split,
    "slice": slice_,
    "pad": pad,
    "gather": gather,
    "gather_elements": gather_elements,
    "scatter_nd": scatter_nd,
    "cumsum": cumsum,
    "top_k": top_k,
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
}


def missing_samplers() -> list[str]:
    return [row.name for row in Graph.rows if row.name not in SAMPLERS]
