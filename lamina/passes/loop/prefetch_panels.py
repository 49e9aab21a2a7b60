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
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IndexType, IntegerAttr, ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects.loop import Loop
from lamina.ir.types import numpy_dtype

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


def _constant_index(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, Operation) and owner.name == "arith.constant" and isinstance(value.type, IndexType):
        return owner.properties["value"].value.data
    return None


def _static_trip(loop: Operation) -> int | None:
    lower, upper = (_constant_index(v) for v in loop.operands)
    if lower is None or upper is None or loop.attr("step") != 1:
        return None
    return upper - lower if lower == 0 else None


def _loop_of(value: SSAValue) -> Operation | None:
    """The loop.for whose variable `value` is."""
    owner = getattr(value, "block", None)
    parent = owner.parent_op() if owner is not None else None
    return parent if parent is not None and parent.name == "loop.for" else None


def _enclosing_loops(op: Operation) -> list[Operation]:
    """The loop.for ops around `op`, outermost first."""
    loops = []
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        if parent.name == "loop.for":
            loops.append(parent)
        parent = parent.parent_op()
    return loops[::-1]


def _panel_bytes(buffer: SSAValue) -> int | None:
    t = buffer.type
    if t.rank < 2 or not t.is_static:
        return None
    return prod(t.shape[1:]) * numpy_dtype(t.element_type).itemsize


def find_stream(load: Operation, min_panel_bytes: int) -> PanelStream | None:
    buffer = load.operands[0]
    if not (isinstance(buffer.owner, Operation) and buffer.owner.name == "loop.const"):
        return None
    panel = _panel_bytes(buffer)
    if panel is None or panel < min_panel_bytes or panel % CACHE_LINE_BYTES:
        return None
    block = load.parent_op()
    while block is not None and block.name != "loop.block":
        block = block.parent_op()
    first = load.operands[1]
    if block is None or first not in block.regions[1].block.args:
        return None
    binding = block.operands[block.regions[1].block.args.index(first)]
    loops = _enclosing_loops(block)
    reductions = [l for l in loops if l.attr("kind") == "reduction"]
    if not reductions:
        return None
    reduction = reductions[0]
    steps = _static_trip(reduction)
    if steps is None:
        return None
    outer = loops[: loops.index(reduction)]
    owner = binding.owner
    if isinstance(owner, Operation) and owner.name in ("arith.floordivsi", "arith.divui"):
        work, tiles = owner.operands[0], _constant_index(owner.operands[1])
        work_loop = _loop_of(work)
        if tiles is None or not 2 <= tiles <= MAX_REUSING_TILES or work_loop not in outer or _static_trip(work_loop) is None:
            return None
        return PanelStream(buffer, work, False, None, tiles, reduction, steps)
    panel_loop = _loop_of(binding)
    if panel_loop not in outer:
        return None
    between = [l for l in outer[outer.index(panel_loop) + 1 :] if _static_trip(l) != 1]
    if len(between) != 1 or not 2 <= (_static_trip(between[0]) or 0) <= MAX_REUSING_TILES:
        return None
    tile_loop = between[0]
    return PanelStream(buffer, binding, True, tile_loop.regions[0].block.args[0], _static_trip(tile_loop), reduction, steps)


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


def _block_binding(load: Operation, index: SSAValue) -> SSAValue | None:
    block = load.parent_op()
    while block is not None and block.name != "loop.block":
        block = block.parent_op()
    if block is None or index not in block.regions[1].block.args:
        return None
    return block.operands[block.regions[1].block.args.index(index)]


def find_slice_stream(load: Operation, min_panel_bytes: int) -> SliceStream | None:
    buffer = load.operands[0]
    if not (isinstance(buffer.owner, Operation) and buffer.owner.name == "loop.const") or not buffer.type.is_static:
        return None
    bindings = [_block_binding(load, ix) for ix in load.operands[1:]]
    if any(b is None for b in bindings):
        return None
    loops = _enclosing_loops(load)
    reductions = [l for l in loops if l.attr("kind") == "reduction"]
    if not reductions or _static_trip(reductions[0]) is None:
        return None
    reduction = reductions[0]
    outer = loops[: loops.index(reduction)]
    inner = set(loops[loops.index(reduction) :])
    owners = [_loop_of(b) for b in bindings]
    chunk_axis = len(bindings)
    while chunk_axis > 0 and owners[chunk_axis - 1] in inner:
        chunk_axis -= 1
    if chunk_axis == 0 or chunk_axis == len(bindings) or any(o not in outer for o in owners[:chunk_axis]):
        return None
    slice_loop = min(owners[:chunk_axis], key=outer.index)
    between = [l for l in outer[outer.index(slice_loop) + 1 :] if l not in owners and _static_trip(l) != 1]
    if len(between) != 1 or not 2 <= (_static_trip(between[0]) or 0) <= MAX_REUSING_TILES:
        return None
    shape, element_bytes = buffer.type.shape, numpy_dtype(buffer.type.element_type).itemsize
    chunk_bytes = prod(shape[chunk_axis:]) * element_bytes
    slice_axis = owners.index(slice_loop)
    if chunk_bytes % CACHE_LINE_BYTES or chunk_bytes * prod(shape[:chunk_axis]) // shape[slice_axis] < min_panel_bytes:
        return None
    tile_loop = between[0]
    return SliceStream(buffer, bindings[:chunk_axis], slice_axis, chunk_axis, tile_loop.regions[0].block.args[0], _static_trip(tile_loop), reduction, _static_trip(reduction))


class _Builder:
    def __init__(self, block: Block):
        self.block, self.rewriter, self.at = block, Rewriter(), InsertPoint.at_start(block)

    def add(self, op: Operation) -> SSAValue:
        self.rewriter.insert_op(op, self.at)
        self.at = InsertPoint.after(op)
        return op.results[0] if op.results else None

    def const(self, value: int) -> SSAValue:
        return self.add(arith.ConstantOp(IntegerAttr(value, IndexType())))

    def binary(self, cls, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.add(cls(a, b))


def insert_prefetches(stream: PanelStream) -> None:
    t = stream.buffer.type
    element_bytes = numpy_dtype(t.element_type).itemsize
    line_elements = CACHE_LINE_BYTES // element_bytes
    panel_lines = prod(t.shape[1:]) // line_elements
    total = prod(t.shape)
    per_step = -(-panel_lines // stream.steps)  # R
    fetches = -(-per_step // stream.tiles)
    body = stream.reduction.regions[0].block
    b = _Builder(body)
    step = body.args[0]
    work = stream.work
    if stream.work_is_panel:
        work = b.binary(arith.AddiOp, b.binary(arith.MuliOp, work, b.const(stream.tiles)), stream.tile)
    ahead = b.binary(arith.AddiOp, b.binary(arith.MuliOp, b.binary(arith.AddiOp, work, b.const(stream.tiles)), b.const(stream.steps)), step)
    line = b.binary(arith.DivUIOp, b.binary(arith.MuliOp, ahead, b.const(per_step)), b.const(stream.tiles))
    first = b.binary(arith.MuliOp, line, b.const(line_elements))
    last = b.const(total - 1)
    for k in range(fetches):
        offset = first if k == 0 else b.binary(arith.AddiOp, first, b.const(k * line_elements))
        b.add(Loop["prefetch"].build([stream.buffer, b.binary(arith.MinUIOp, offset, last)], {}, []))


def insert_slice_prefetches(stream: SliceStream) -> None:
    """Tile t fetches, over its reduction, the t-th T-th of its chunk of the next slice (the
    slice index clamped to the last)."""
    shape = stream.buffer.type.shape
    line_elements = CACHE_LINE_BYTES // numpy_dtype(stream.buffer.type.element_type).itemsize
    chunk = prod(shape[stream.chunk_axis :])
    per_step = -(-(chunk // line_elements) // stream.steps)
    fetches = -(-per_step // stream.tiles)
    body = stream.reduction.regions[0].block
    b = _Builder(body)
    base = None
    for axis, value in enumerate(stream.leading):
        if axis == stream.slice_axis:
            value = b.binary(arith.MinUIOp, b.binary(arith.AddiOp, value, b.const(1)), b.const(shape[axis] - 1))
        term = b.binary(arith.MuliOp, value, b.const(prod(shape[axis + 1 :])))
        base = term if base is None else b.binary(arith.AddiOp, base, term)
    ahead = b.binary(arith.AddiOp, b.binary(arith.MuliOp, stream.tile, b.const(stream.steps)), body.args[0])
    line = b.binary(arith.DivUIOp, b.binary(arith.MuliOp, ahead, b.const(per_step)), b.const(stream.tiles))
    first = b.binary(arith.MuliOp, line, b.const(line_elements))
    last = b.const(chunk - 1)
    for k in range(fetches):
        within = first if k == 0 else b.binary(arith.AddiOp, first, b.const(k * line_elements))
        offset = b.binary(arith.AddiOp, base, b.binary(arith.MinUIOp, within, last))
        b.add(Loop["prefetch"].build([stream.buffer, offset], {}, []))


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
