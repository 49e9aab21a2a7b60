"""Compute rules that depend on an op's ranks or attributes (which axes reduce, the window of a
convolution, a permutation): each builder writes the rule text for one op instance, in the same
index-expression language as the fixed `compute=` strings, and the rule lowering derives the loop
nest from that text. Graph rows name these in their `lowering=` field.

Builders take the op's OpView (operand types, attribute values, result types) and return rule
text. Operands are named as in the row; a variadic operand's values are `name0`, `name1`, ...
"""

from __future__ import annotations

import numpy as np

from lamina.ir.dims import Dim
from lamina.ir.optable import OpView


def _vars(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{k}" for k in range(n)]


def _idx(items) -> str:
    return ", ".join(str(i) for i in items)


def _axis(axis: int, rank: int) -> int:
    return axis % rank if rank else 0


def _rank(view: OpView, k: int = 0) -> int:
    return view.operand_types[k].rank


def _reduced_access(rank: int, axes: set[int], keepdims: bool) -> tuple[list[str], list[str]]:
    """(indices of the reduced result, indices of the input) over variables d0..d{rank-1}."""
    full = _vars("d", rank)
    kept = [("0" if keepdims else None) if k in axes else v for k, v in enumerate(full)]
    return [k for k in kept if k is not None], full


# ---------------------------------------------------------------- elementwise with attributes


def gelu(view: OpView) -> str:
    if view.attrs["approximate"] == "tanh":
        return "out[...] = 0.5 * x[...] * (1 + tanh(0.7978845608028654 * (x[...] + 0.044715 * x[...] * x[...] * x[...])))"
    return "out[...] = 0.5 * x[...] * (1 + erf(x[...] * 0.7071067811865476))"


def clip(view: OpView) -> str:
    expr = "x[...]"
    if view.attrs.get("min") is not None:
        expr = f"max({expr}, min)"
    if view.attrs.get("max") is not None:
        expr = f"min({expr}, max)"
    return f"out[...] = {expr}"


# ---------------------------------------------------------------- contractions and windows


def matmul(view: OpView) -> str:
    ra, rb = _rank(view, 0), _rank(view, 1)
    lhs = "lhs[..., i, k]" if ra > 1 else "lhs[k]"
    rhs = "rhs[..., k, j]" if rb > 1 else "rhs[k]"
    out = ["..."] + (["i"] if ra > 1 else []) + (["j"] if rb > 1 else [])
    if view.result_types and view.result_types[0].rank == 0:
        out = []
    return f"out[{_idx(out)}] += {lhs} * {rhs}"


def conv2d(view: OpView) -> str:
    a = view.attrs
    sh, sw = a["strides"]
    pt, pl = a["pads"][0], a["pads"][1]
    dh, dw = a["dilations"]
    groups = a["groups"]
    o, cg = view.operand_types[1].shape[0], view.operand_types[1].shape[1]
    og = o // groups
    if groups == 1:
        channel = "c"
    else:  # written plainly for one output channel per group: later analyses see `o + c`
        group = "o" if og == 1 else f"(o / {og})"
        channel = f"{group} + c" if cg == 1 else f"{group} * {cg} + c"
    window = f"x[b, {channel}, oy * {sh} + ky * {dh} - {pt}, ox * {sw} + kx * {dw} - {pl}]"
    rule = f"out[b, o, oy, ox] += pad({window}, 0) * weight[o, c, ky, kx]"
    if len(view.operand_types) == 3:
        rule += "; out[b, o, oy, ox] = out[b, o, oy, ox] + bias[o]"
    return rule


def _pool_window(view: OpView) -> tuple[str, str]:
    a = view.attrs
    kh, kw = a["kernel"]
    sh, sw = a["strides"]
    pt, pl = a["pads"][0], a["pads"][1]
    dh, dw = a["dilations"]
    window = f"[b, c, oy * {sh} + ky * {dh} - {pt}, ox * {sw} + kx * {dw} - {pl}]"
    # oy and ox index the input only through the window, so their extents come from the output.
    return window, f"where ky < {kh}, kx < {kw}, oy < dim(out, 2), ox < dim(out, 3)"


def max_pool2d(view: OpView) -> str:
    window, bounds = _pool_window(view)
    dtype = view.operand_types[0].dtype
    lowest = "-inf" if np.issubdtype(dtype, np.floating) else str(np.iinfo(dtype).min)
    return f"out[b, c, oy, ox] max= pad(x{window}, {lowest}) {bounds}"


def avg_pool2d(view: OpView) -> str:
    window, bounds = _pool_window(view)
    kh, kw = view.attrs["kernel"]
    total = f"total[b, c, oy, ox] += pad(x{window}, 0) {bounds}"
    if view.attrs["count_include_pad"]:
        return f"{total}; out[b, c, oy, ox] = total[b, c, oy, ox] / {kh * kw}"
    count = f"count[oy, ox] += select(valid(x{window.replace('[b, c,', '[0, 0,')}), 1, 0) {bounds}"
    return f"{total}; {count}; out[b, c, oy, ox] = total[b, c, oy, ox] / count[oy, ox]"


def _global_pool(view: OpView, op: str) -> str:
    rank = _rank(view)
    spatial = _vars("s", rank - 2)
    out = f"out[b, c, {_idx(['0'] * (rank - 2))}]"
    rule = f"{out} {op} x[b, c, {_idx(spatial)}]"
    if op == "+=":
        count = " * ".join(f"dim(x, {k})" for k in range(2, rank))
        rule += f"; {out} = {out} / cast({count})"
    return rule


def global_avg_pool2d(view: OpView) -> str:
    return _global_pool(view, "+=")


def global_max_pool2d(view: OpView) -> str:
    return _global_pool(view, "max=")


# ---------------------------------------------------------------- normalization and reductions


def _normalized_axes(axes, rank: int) -> set[int]:
    return set(range(rank)) if axes is None else {a % rank for a in axes}


def reduction(op: str, mean: bool = False):
    def build(view: OpView) -> str:
        rank = _rank(view)
        axes = _normalized_axes(view.attrs.get("axes"), rank)
        out, full = _reduced_access(rank, axes, view.attrs["keepdims"])
        if not axes:
            return f"out[{_idx(full)}] = x[{_idx(full)}]"
        rule = f"out[{_idx(out)}] {op} x[{_idx(full)}]"
        if mean:
            count = " * ".join(f"dim(x, {a})" for a in sorted(axes))
            rule += f"; out[{_idx(out)}] = out[{_idx(out)}] / cast({count})"
        return rule

    return build


def arg_reduction(op: str):
    def build(view: OpView) -> str:
        rank = _rank(view)
        axis = _axis(view.attrs["axis"], rank)
        full = _vars("d", rank)
        kept = ["0" if k == axis else v for k, v in enumerate(full)]
        out = [v for k, v in enumerate(full) if k != axis] if not view.attrs["keepdims"] else kept
        k = full[axis]
        # The extreme is NaN when any element is (max/min propagate it); then the NaN elements
        # are the candidates, as numpy picks the first NaN.
        hit = f"or(x[{_idx(full)}] == best[{_idx(kept)}], x[{_idx(full)}] != x[{_idx(full)}])"
        if view.attrs["select_last_index"]:
            pick = f"out[{_idx(out)}] max= select({hit}, {k}, -1)"
        else:
            pick = f"out[{_idx(out)}] min= select({hit}, {k}, dim(x, {axis}))"
        return f"best[{_idx(kept)}] {op} x[{_idx(full)}]; {pick}"

    return build


def softmax(view: OpView, log: bool = False) -> str:
    rank = _rank(view)
    axis = _axis(view.attrs["axis"], rank)
    full = _vars("d", rank)
    kept = _idx(["0" if k == axis else v for k, v in enumerate(full)])
    f = _idx(full)
    rule = f"top[{kept}] max= x[{f}]; "
    if log:
        rule += f"total[{kept}] += exp(x[{f}] - top[{kept}]); out[{f}] = x[{f}] - top[{kept}] - log(total[{kept}])"
    else:
        # The exponentials get a buffer of their own (not the output, divided in place): each
        # statement then writes one buffer once, which row fusion needs.
        rule += f"e[{f}] = exp(x[{f}] - top[{kept}]); total[{kept}] += e[{f}]; out[{f}] = e[{f}] / total[{kept}]"
    return rule


def log_softmax(view: OpView) -> str:
    return softmax(view, log=True)


def layer_norm(view: OpView) -> str:
    rank = _rank(view)
    axis = _axis(view.attrs["axis"], rank)
    full = _vars("d", rank)
    kept = _idx([("0" if k >= axis else v) for k, v in enumerate(full)])
    f = _idx(full)
    count = " * ".join(f"dim(x, {a})" for a in range(axis, rank)) or "1"
    # Sums divided where they are used rather than in place: each statement writes one buffer
    # once (row fusion needs that); the division is the same, so are the results.
    mean = f"(total[{kept}] / cast({count}))"
    rule = f"total[{kept}] += x[{f}]; squares[{kept}] += (x[{f}] - {mean}) * (x[{f}] - {mean}); "
    value = f"(x[{f}] - {mean}) / sqrt(squares[{kept}] / cast({count}) + epsilon)"
    # scale and bias broadcast against the trailing axes (numpy alignment).
    params = [_idx(full[rank - t.rank :]) for t in view.operand_types[1:]]
    if len(params) >= 1:
        value = f"{value} * params0[{params[0]}]"
    if len(params) >= 2:
        value = f"{value} + params1[{params[1]}]"
    return rule + f"out[{f}] = {value}"


# ---------------------------------------------------------------- data movement


def _linear_copy(view: OpView) -> str:
    """Row-major copy between shapes of equal size (reshape, flatten): the input index is the
    output's linear position unravelled over the input's dims."""
    out_rank, in_rank = view.result_types[0].rank, _rank(view)
    outs = _vars("d", out_rank)
    linear = "0"
    for k, v in enumerate(outs):
        linear = v if k == 0 else f"({linear}) * dim(out, {k}) + {v}"
    parts = []
    for k in range(in_rank):
        stride = " * ".join(f"dim(x, {j})" for j in range(k + 1, in_rank)) or "1"
        parts.append(f"(({linear}) / ({stride})) % dim(x, {k})")
    return f"out[{_idx(outs)}] = x[{_idx(parts)}]"


reshape = _linear_copy
flatten = _linear_copy


def transpose(view: OpView) -> str:
    rank = _rank(view)
    perm = view.attrs.get("perm") or tuple(reversed(range(rank)))
    outs = _vars("d", rank)
    ins = [""] * rank
    for k, p in enumerate(perm):
        ins[p] = outs[k]
    return f"out[{_idx(outs)}] = x[{_idx(ins)}]"


def concat(view: OpView) -> str:
    rank = _rank(view)
    axis = _axis(view.attrs["axis"], rank)
    rules, offset = [], "0"
    for k in range(len(view.operand_types)):
        vs = _vars("d", rank)
        outs = list(vs)
        outs[axis] = f"{offset} + {vs[axis]}"
        rules.append(f"out[{_idx(outs)}] = inputs{k}[{_idx(vs)}]")
        offset = f"{offset} + dim(inputs{k}, {axis})"
    return "; ".join(rules)


def split(view: OpView) -> str:
    rank = _rank(view)
    axis = _axis(view.attrs["axis"], rank)
    rules, offset = [], 0
    for k, size in enumerate(view.attrs["sizes"]):
        vs = _vars("d", rank)
        ins = list(vs)
        ins[axis] = f"{offset} + {vs[axis]}"
        rules.append(f"outs{k}[{_idx(vs)}] = x[{_idx(ins)}]")
        offset += size
    return "; ".join(rules)


def slice_(view: OpView) -> str:
    rank = _rank(view)
    a = view.attrs
    starts, ends = a["starts"], a["ends"]
    axes = a.get("axes") or tuple(range(len(starts)))
    steps = a.get("steps") or (1,) * len(starts)
    shape: list[Dim] = list(view.operand_types[0].shape)
    outs = _vars("d", rank)
    ins = list(outs)
    for st, en, ax, sp in zip(starts, ends, axes, steps):
        ax %= rank
        if not isinstance(shape[ax], int):
            continue  # the type rule admits only the whole axis here
        start = range(*slice(st, en, sp).indices(shape[ax])).start
        ins[ax] = f"{start} + {outs[ax]} * {sp}"
    return f"out[{_idx(outs)}] = x[{_idx(ins)}]"


def pad(view: OpView) -> str:
    rank = _rank(view)
    pads = view.attrs["pads"]
    mode = view.attrs["mode"]
    outs = _vars("d", rank)
    ins = []
    for k, v in enumerate(outs):
        j = f"({v} - {pads[k]})"
        if mode == "edge":
            j = f"min(max({j}, 0), dim(x, {k}) - 1)"
        elif mode == "reflect":
            period = f"(2 * dim(x, {k}) - 2)"
            last = f"(dim(x, {k}) - 1)"
            # Reflection without repeating the edge is periodic with period 2*(size-1).
            j = f"{last} - abs(({j} % max({period}, 1)) - {last})"
        ins.append(j)
    if mode == "constant":
        return f"out[{_idx(outs)}] = pad(x[{_idx(ins)}], value)"
    return f"out[{_idx(outs)}] = x[{_idx(ins)}]"


def gather(view: OpView) -> str:
    rank, irank = _rank(view, 0), _rank(view, 1)
    axis = _axis(view.attrs["axis"], rank)
    before, taken, after = _vars("a", axis), _vars("t", irank), _vars("z", rank - axis - 1)
    raw = f"indices[{_idx(taken)}]"
    wrapped = f"select({raw} < 0, {raw} + dim(x, {axis}), {raw})"
    return f"out[{_idx(before + taken + after)}] = x[{_idx(before + [wrapped] + after)}]"


def squeeze(view: OpView) -> str:
    rank = _rank(view)
    axes = view.attrs.get("axes")
    shape = view.operand_types[0].shape
    dropped = {k for k, d in enumerate(shape) if d == 1} if axes is None else {a % rank for a in axes}
    outs = _vars("d", rank - len(dropped))
    it = iter(outs)
    ins = ["0" if k in dropped else next(it) for k in range(rank)]
    return f"out[{_idx(outs)}] = x[{_idx(ins)}]"


def unsqueeze(view: OpView) -> str:
    out_rank = view.result_types[0].rank
    added = {a % out_rank for a in view.attrs["axes"]}
    outs = _vars("d", out_rank)
    ins = [v for k, v in enumerate(outs) if k not in added]
    return f"out[{_idx(outs)}] = x[{_idx(ins)}]"


def _wrapped(index: str, buffer: str, axis: int) -> str:
    """A possibly negative index counted from the end of the buffer's axis."""
    return f"select({index} < 0, {index} + dim({buffer}, {axis}), {index})"


def gather_elements(view: OpView) -> str:
    rank = _rank(view)
    axis = _axis(view.attrs["axis"], rank)
    outs = _vars("d", rank)
    ins = list(outs)
    ins[axis] = _wrapped(f"indices[{_idx(outs)}]", "x", axis)
    return f"out[{_idx(outs)}] = x[{_idx(ins)}]"


def cumsum(view: OpView) -> str:
    rank = _rank(view)
    axis = _axis(view.attrs["axis"], rank)
    outs = _vars("d", rank)
    ins = list(outs)
    ins[axis] = "j"
    # j runs over the whole axis; the ones before (after, reversed) the output position count.
    order = {(False, False): "<=", (True, False): "<", (False, True): ">=", (True, True): ">"}
    taken = f"j {order[(view.attrs['exclusive'], view.attrs['reverse'])]} {outs[axis]}"
    return f"out[{_idx(outs)}] += select({taken}, x[{_idx(ins)}], 0)"


def top_k(view: OpView) -> str:
    """rank[i] counts the elements ordered before element i (larger, or equal at a lower index;
    NaN is the largest value); the q-th output is the element whose rank is q."""
    rank = _rank(view)
    axis = _axis(view.attrs["axis"], rank)
    outer = _vars("d", rank)

    def at(var: str, buffer: str = "x") -> str:
        ix = list(outer)
        ix[axis] = var
        return f"{buffer}[{_idx(ix)}]"

    xj, xi = at("j"), at("i")
    nan_j, nan_i = f"({xj} != {xj})", f"({xi} != {xi})"
    if view.attrs["largest"]:
        beats = f"or({xj} > {xi}, and({nan_j}, not({nan_i})))"
    else:
        beats = f"or({xj} < {xi}, and({nan_i}, not({nan_j})))"
    same = f"or({xj} == {xi}, and({nan_j}, {nan_i}))"
    before = f"or({beats}, and({same}, j < i))"
    picked = f"{at('j', 'order')} == q"
    return (
        f"{at('i', 'order')} += select({before}, 1, 0); "
        f"{at('q', 'values')} += select({picked}, {xj}, 0); "
        f"{at('q', 'indices')} += select({picked}, j, 0)"
    )


def scatter_nd(view: OpView) -> str:
    data, idx = view.operand_types[0], view.operand_types[1]
    depth = idx.shape[-1]
    batch = _vars("u", idx.rank - 1)
    tail = _vars("t", data.rank - depth)
    where = [_wrapped(f"indices[{_idx(batch + [str(k)])}]", "data", k) for k in range(depth)]
    target = f"out[{_idx(where + tail)}]"
    update = f"updates[{_idx(batch + tail)}]"
    combine = {"none": update, "add": f"{target} + {update}", "mul": f"{target} * {update}", "max": f"max({target}, {update})", "min": f"min({target}, {update})"}
    copy = f"out[{_idx(_vars('d', data.rank))}] = data[{_idx(_vars('d', data.rank))}]"
    return f"{copy}; {target} = {combine[view.attrs['reduction']]}"
