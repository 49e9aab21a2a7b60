"""`prefetch-panels`: a tile nest that reuses each panel of constant weights across several
tiles fetches the next panel into L2 while it computes on the current one.

A conv tiled along its output channels runs, per thread,

    for w in work items:                 panel p = w / T, tile t = w % T
      for c in 0..C:                     the outermost reduction loop
        ... load Wp[p, c, ...] ...

so a panel (Wp[p], 590 KiB for 512 channels at 3x3 in panels of 32) is read from memory by its
first tile and from L2 by the other T - 1. Inside a network the weights are cold: measured on
an Emerald Rapids, 512 channels at 7x7 took 1.55 ms with its weights in cache and 2.49 ms
without (onnxruntime: 1.64 / 2.45), the first tile of each panel waiting on memory while the
others never touch it. Here tile t of panel p fetches the t-th T-th of panel p + 1, spread over
its reduction, so the memory stream runs under the compute of every tile:

    line(w, c) = ((w + T) * C + c) * R / T          R = ceil(lines per panel / C)

counts the lines of panel p + 1 from t * R * C / T to (t + 1) * R * C / T as c goes 0..C; each c
iteration fetches ceil(R / T) lines from line(w, c) on (overlaps are harmless). The offset is
clamped to the buffer, so the last panel fetches nothing new.

Recognised: a load from a `loop.const` buffer of at least MIN_PANEL_BYTES per first-axis slice,
whose first index binds either `w floordiv T` (the panel and tile loops fused for the threads)
or the variable of a loop holding one loop of T > 1 iterations (the tiles) around the
reduction; the reduction loop runs from 0 by 1 to a constant.

A Winograd conv's GEMM reads its transformed weights U[panel, point, k, lane] with the points
outermost, the row tiles inside (they reuse the point's weights) and the panels inside those:
the slice a point reuses is one chunk U[j, point] per panel. Tile t fetches, over its
reduction, the t-th T-th of its panel's chunk of the next point, by the same count (a load
whose leading axes are bound outside the reduction, one of them by the outermost such loop,
with one loop binding none of them between it and the reduction: SliceStream). Measured as
above: 256 channels at 14x14 (F2, 4.2 MB of weights) with the cache flushed 1.39 -> 1.10 ms,
ResNet-18 t=1 / t=2 minimums 19.6 / 10.8 -> 18.6 / 10.3 ms, level with warm weights.
Anything else is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects.loop import Loop
from lamina.ir.types import numpy_dtype
from lamina.passes.schedule.nest import IndexMath, enclosing_loops, loop_var, static_value, trip_count

CACHE_LINE_BYTES = 64
# Panels smaller than this are few lines per reduction step; a stem's 147 x 32 floats (18 KiB)
# stay in L1 across its 1568 tiles anyway.
MIN_PANEL_BYTES = 64 * 1024
# With more tiles per panel the first tile's wait is a small share of the panel's work, and the
# fetch's index arithmetic on every reduction step costs more than it hides: a blocked GEMM's
# 128 row tiles per panel (sgemm-1024) ran 4% slower with it.
MAX_REUSING_TILES = 32


@dataclass(frozen=True)
class PanelStream:
    buffer: SSAValue  # the constant weights, panels along the first axis
    work: SSAValue  # w: the work item, panel w // tiles
    work_is_panel: bool  # w is the panel loop's variable (w = p * tiles + t is built here)
    tile: SSAValue | None  # t, when work_is_panel
    tiles: int  # T
    reduction: Operation  # the loop over c
    steps: int  # C


@dataclass(frozen=True)
class SliceStream:
    """A load whose leading axes (before `chunk_axis`) are bound to loops outside the reduction,
    one of them, `slice_axis`, to the outermost (the slice loop: a Winograd GEMM's transform
    point); one loop between it and the reduction binds no axis (the tiles, which reuse the
    slice); the axes from `chunk_axis` on are bound inside the reduction (a contiguous chunk)."""

    buffer: SSAValue
    leading: list[SSAValue]  # the outer values bound to the axes before chunk_axis
    slice_axis: int
    chunk_axis: int
    tile: SSAValue
    tiles: int
    reduction: Operation
    steps: int


def _static_trip(loop: Operation) -> int | None:
    """The trip count of a loop from 0 by 1 to a constant, else None."""
    return trip_count(loop) if static_value(loop.operands[0]) == 0 and loop.attr("step") == 1 else None


def _reusing_tiles(loop: Operation) -> bool:
    return 2 <= (_static_trip(loop) or 0) <= MAX_REUSING_TILES


def _loop_of(value: SSAValue) -> Operation | None:
    """The loop.for whose variable `value` is."""
    owner = getattr(value, "block", None)
    parent = owner.parent_op() if owner is not None else None
    return parent if parent is not None and parent.name == "loop.for" else None


def _block_binding(load: Operation, index: SSAValue) -> SSAValue | None:
    """The value bound, outside its loop.block, to the block argument `index` of a load."""
    block = load.parent_op()
    while block is not None and block.name != "loop.block":
        block = block.parent_op()
    if block is None or index not in block.regions[1].block.args:
        return None
    return block.operands[block.regions[1].block.args.index(index)]


def _constant_weights(load: Operation) -> SSAValue | None:
    buffer = load.operands[0]
    if isinstance(buffer.owner, Operation) and buffer.owner.name == "loop.const" and buffer.type.is_static:
        return buffer
    return None


def _split_at_reduction(load: Operation) -> tuple[list[Operation], Operation, list[Operation]] | None:
    """The loops around `load` outside its outermost reduction loop, that loop (from 0 by 1 to a
    constant), and the loops from it inward."""
    loops = enclosing_loops(load)
    reductions = [l for l in loops if l.attr("kind") == "reduction"]
    if not reductions or _static_trip(reductions[0]) is None:
        return None
    at = loops.index(reductions[0])
    return loops[:at], reductions[0], loops[at:]


def find_stream(load: Operation, min_panel_bytes: int) -> PanelStream | None:
    buffer = _constant_weights(load)
    if buffer is None or buffer.type.rank < 2:
        return None
    panel = prod(buffer.type.shape[1:]) * numpy_dtype(buffer.type.element_type).itemsize
    binding = _block_binding(load, load.operands[1])
    split = _split_at_reduction(load)
    if panel < min_panel_bytes or panel % CACHE_LINE_BYTES or binding is None or split is None:
        return None
    outer, reduction, _ = split
    steps = _static_trip(reduction)
    owner = binding.owner
    if isinstance(owner, Operation) and owner.name in ("arith.floordivsi", "arith.divui"):
        work, tiles = owner.operands[0], static_value(owner.operands[1])
        work_loop = _loop_of(work)
        if tiles is None or not 2 <= tiles <= MAX_REUSING_TILES or work_loop not in outer or _static_trip(work_loop) is None:
            return None
        return PanelStream(buffer, work, False, None, tiles, reduction, steps)
    panel_loop = _loop_of(binding)
    if panel_loop not in outer:
        return None
    between = [l for l in outer[outer.index(panel_loop) + 1 :] if _static_trip(l) != 1]
    if len(between) != 1 or not _reusing_tiles(between[0]):
        return None
    return PanelStream(buffer, binding, True, loop_var(between[0]), _static_trip(between[0]), reduction, steps)


def find_slice_stream(load: Operation, min_panel_bytes: int) -> SliceStream | None:
    buffer = _constant_weights(load)
    bindings = [_block_binding(load, ix) for ix in load.operands[1:]]
    split = _split_at_reduction(load)
    if buffer is None or any(b is None for b in bindings) or split is None:
        return None
    outer, reduction, inner = split
    owners = [_loop_of(b) for b in bindings]
    chunk_axis = len(bindings)
    while chunk_axis > 0 and owners[chunk_axis - 1] in inner:
        chunk_axis -= 1
    if chunk_axis == 0 or chunk_axis == len(bindings) or any(o not in outer for o in owners[:chunk_axis]):
        return None
    slice_loop = min(owners[:chunk_axis], key=outer.index)
    between = [l for l in outer[outer.index(slice_loop) + 1 :] if l not in owners and _static_trip(l) != 1]
    if len(between) != 1 or not _reusing_tiles(between[0]):
        return None
    shape, element_bytes = buffer.type.shape, numpy_dtype(buffer.type.element_type).itemsize
    chunk_bytes = prod(shape[chunk_axis:]) * element_bytes
    slice_axis = owners.index(slice_loop)
    if chunk_bytes % CACHE_LINE_BYTES or chunk_bytes * prod(shape[:chunk_axis]) // shape[slice_axis] < min_panel_bytes:
        return None
    return SliceStream(buffer, bindings[:chunk_axis], slice_axis, chunk_axis, loop_var(between[0]), _static_trip(between[0]), reduction, _static_trip(reduction))


def _fetch_lines(m: IndexMath, buffer: SSAValue, base: SSAValue | None, ahead: SSAValue, lines: int, steps: int, tiles: int, last: int) -> None:
    """One reduction step's fetches: R = ceil(lines / steps) lines per step over the stream,
    spread over `tiles`, so ceil(R / T) lines from line ahead * R / T, each element offset
    clamped to `last` and added to `base`."""
    line_elements = CACHE_LINE_BYTES // numpy_dtype(buffer.type.element_type).itemsize
    per_step = -(-lines // steps)
    first = m.mul(m.unsigned_div(m.mul(ahead, per_step), tiles), line_elements)
    for k in range(-(-per_step // tiles)):
        offset = m.unsigned_min(m.add(first, k * line_elements), last)
        m.add_op(Loop["prefetch"].build([buffer, offset if base is None else m.add(base, offset)], {}, []))


def insert_prefetches(stream: PanelStream) -> None:
    shape = stream.buffer.type.shape
    body = stream.reduction.regions[0].block
    m = IndexMath(anchor=body.first_op)
    work = m.add(m.mul(stream.work, stream.tiles), stream.tile) if stream.work_is_panel else stream.work
    ahead = m.add(m.mul(m.add(work, stream.tiles), stream.steps), body.args[0])
    line_elements = CACHE_LINE_BYTES // numpy_dtype(stream.buffer.type.element_type).itemsize
    _fetch_lines(m, stream.buffer, None, ahead, prod(shape[1:]) // line_elements, stream.steps, stream.tiles, prod(shape) - 1)


def insert_slice_prefetches(stream: SliceStream) -> None:
    """Tile t fetches, over its reduction, the t-th T-th of its chunk of the next slice (the
    slice index clamped to the last)."""
    shape = stream.buffer.type.shape
    body = stream.reduction.regions[0].block
    m = IndexMath(anchor=body.first_op)
    base = None
    for axis, value in enumerate(stream.leading):
        if axis == stream.slice_axis:
            value = m.unsigned_min(m.add(value, 1), shape[axis] - 1)
        term = m.mul(value, prod(shape[axis + 1 :]))
        base = term if base is None else m.add(base, term)
    ahead = m.add(m.mul(stream.tile, stream.steps), body.args[0])
    chunk = prod(shape[stream.chunk_axis :])
    line_elements = CACHE_LINE_BYTES // numpy_dtype(stream.buffer.type.element_type).itemsize
    _fetch_lines(m, stream.buffer, base, ahead, chunk // line_elements, stream.steps, stream.tiles, chunk - 1)


@dataclass(frozen=True)
class PrefetchPanels(ModulePass):
    """Fetch the next panel of constant weights into L2 while the tiles reuse the current one."""

    name = "prefetch-panels"
    min_panel_bytes: int | None = None  # None: MIN_PANEL_BYTES

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        smallest = MIN_PANEL_BYTES if self.min_panel_bytes is None else self.min_panel_bytes
        for fn in op.ops:
            if not isinstance(fn, func.FuncOp):
                continue
            streams: dict[tuple, PanelStream | SliceStream] = {}
            for load in fn.walk():
                if load.name == "loop.load":
                    stream = find_stream(load, smallest) or find_slice_stream(load, smallest)
                    if stream is not None:
                        streams.setdefault((stream.buffer, stream.reduction), stream)
            for stream in streams.values():
                if isinstance(stream, PanelStream):
                    insert_prefetches(stream)
                else:
                    insert_slice_prefetches(stream)
