"""The default schedule of a contraction nest (matmul, batched matmul, conv2d): a
register tile, written with the schedule primitives so it is a replayable trace like any other.

For a perfect nest `S... R...` around one reduction block the template is

    fused(S_outer..., m_o, v_o)  parallel        (enough iterations for every thread)
      R...                                       (the accumulators stay in registers)
        m_i  unroll MR                           (rows that reuse the vector operand)
          v_i  vectorize NR                      (the contiguous output axis)

with the init split off before the reduction loops (decompose-reduction). `v` is usually the
innermost spatial loop; it must index every access it appears in as the last, unit-stride
index, so the vector loads are contiguous. `m` is a spatial loop that the vector operand does
not depend on (matmul's row, conv's output channel): each vector load then feeds MR
multiply-adds. MR*NR/lanes accumulators fill the 16 vector registers of AVX2 less the operands.
When MR does not divide the rows (512 rows in tiles of 6, a symbolic batch) the split guards the
last tile; the pass unswitch-guards then gives every full tile a guard-free copy of the body.

A conv with constant weights and at least 32 output channels runs its vectors along the
output channels instead (`channel_tile_rows`), as onnxruntime's NCHWc kernels do: the weights
are repacked into panels `Wp[o / NR, c, ky, kx, o % NR]`, each input element is broadcast over
NR channels, the output positions (a row, or the whole image when rows are short) are the
unrolled rows, and the panel loop is outermost so a panel's weights stay in cache across every
output position. The accumulators are not contiguous in the output (NCHW) then;
register-accumulators gives them a local buffer that is, and copies it out once per tile.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import IndexType
from xdsl.ir import Operation, SSAValue

from lamina.dialects.loop import REDUCE
from lamina.lowering.pack_operands import depends_on, pack_row_operand, pack_vector_operand, row_operand_load
from lamina.passes.schedule.cache import buffers_accessed
from lamina.schedule import BlockRV, LoopRV, Schedule
from lamina.targets.host import host_target

# Vector registers the accumulators may take (AVX2 has 16; the rest hold operands). They stay in
# registers across the reduction loops because register-accumulators gives them a local buffer.
# With AVX-512's 32 registers a tile takes 16: on Zen 5 (full-width 512-bit FMAs), 8 x 32 beat
# 6 x 32 by 2-4% (sgemm-512, mlp-b64, the transformer block at one thread, interleaved in one
# process); on Zen 4 (stop 19) 16 gained nothing over 12.
ACCUMULATOR_REGISTERS = 12
WIDE_ACCUMULATOR_REGISTERS = 16
# A tile along a conv's channels broadcasts input elements, and neighbouring rows read the same
# elements at the next kernel column; LLVM keeps those broadcasts live across the unrolled
# columns. With AVX2's 16 registers it takes 8 accumulators. With AVX-512's 32 it takes 16: on
# Zen 5 ResNet's stride-2 convs and stem ran 10-20% faster than with 8 (one conv at a time,
# interleaved in one process); on Zen 4 (stop 19) 8 to 24 gained nothing. (The 2x loss once measured
# with 12 was a tile over the 512-byte promotion bound of that time, left in memory.)
CHANNEL_ACCUMULATORS = 8
WIDE_CHANNEL_ACCUMULATORS = 16
# Cache blocking, BLIS-style, of a GEMM whose packed vector operand outgrows the caches (at
# 2048 x 2048 every row tile streamed all 16 MiB of B's panels again from L3): the row tiles run in
# blocks of about BLOCK_ROW_TILES inside each panel, so a panel (K x NR floats, 128 KiB at K = 2048)
# is reused from L2 by a block's tiles, and the row operand is packed at run time so each tile's
# rows are one stream (pack_operands.pack_row_operand). A reduction of at least 2 * BLOCK_K also
# runs in slices of BLOCK_K, outermost. Measured on sgemm-2048 beside numpy in one process: slices
# of 256 and blocks of 16 tiles without the row packing, 50 GFLOP/s at one thread; packed, without
# slices, 70 at one thread whether blocks hold 32 or 128 tiles, and at two threads 95 with blocks
# of 32 and 130-140 with blocks of 64-128 (numpy: 70 and ~100). 600 x 2048 x 2048 without blocks
# (too few tiles for one, as the rule was): 21 GFLOP/s; as one packed block: 66-70.
BLOCK_K = 2048
BLOCK_ROW_TILES = 128
# Without blocks every row tile streams all the panels, so they must fit in L2 (None: the
# target's). They once could spill to L3 up to 4 MiB, which Zen 4 and 5 fed fast enough. On an
# Emerald Rapids (2 MiB of L2, a mesh L3; old and new in one process, one thread) 1024^3 ran at
# 100 GFLOP/s unblocked and 130-150 blocked, 768^3 and 1024 x 768 x 1024 25-35% faster blocked;
# 512^3 (1 MiB of panels) lost 10% to the row packing, 2048 x 640 x 640 (1.6 MiB) was level, and
# 1024 x 1024 x 512 (2 MiB, as large as L2, so unblocked) ran 18% faster blocked.
UNBLOCKED_PANEL_BYTES: int | None = None
# A tile whose vector loads no other row reuses (a depthwise conv) loads a vector per multiply-add,
# most of them off the alignment (the kernel's columns shift the row by one element). Where the
# CPU splits 512-bit operations in halves (Zen 4) it takes vectors of at most 8 floats: every
# unaligned 16-float load crosses a cache line and half the 8-float ones do. It takes its whole
# output row as its vectors when that is at most UNSHARED_ROW_VECTORS, and 8 accumulators.
# Measured on Zen 4, 64 channels at 56x56, one thread: 8 rows x 8 floats 0.070-0.076 ms; with 16
# floats (rows widened to 64) 2 rows x 4 vectors 0.10-0.13 ms, 4 x 2 0.12-0.16, 3 x 4 and 6 x 2
# (12 accumulators) 0.17-0.21, and the tile along the channels that a GEMM-like plan chose (6 x 2)
# 0.23-0.26; onnxruntime 0.09-0.13. On Zen 5 (full-width 512-bit units) 16 floats won instead.
UNSHARED_MAX_LANES = 8
UNSHARED_ROW_VECTORS = 4
UNSHARED_ACCUMULATORS = 8
# The narrowest vectors a tile takes below the target's widest. A tile of a matmul with 10 output
# columns in vectors of 8 (and a 2-column tail) beat the plain schedule, which reduces along k with
# B's columns gathered (mlp-b64's last layer on AVX-512).
NARROW_LANES = 8
# The widest register tile row: more unrolled rows only add broadcasts per vector load.
MAX_ROWS = 8
# The fewest cycles one reduction step of a tile takes: the FMA latency (4-5 on AVX2 cores) and
# the loop around it; measured, tiles of fewer than ~12 accumulators leave FMA slots idle.
MIN_STEP_CYCLES = 6


@dataclass(frozen=True)
class TilePlan:
    label: str
    spatial: list[int]  # positions in the nest, outermost first
    reduce: list[int]
    rows: int  # position of the loop unrolled across registers (m), or -1
    vector: int  # position of the vectorized loop (v)
    mr: int
    nr: int
    channel: bool = False  # the vectors run along an axis other than the output's last
    rows_with: int = -1  # a loop fused with the rows loop (outside it) before the rows split
    lanes: int | None = None  # vectors narrower than the target's widest


def _coefficient(value: SSAValue, arg: SSAValue) -> int | None:
    """c when value == c * arg + (something independent of arg); None when not affine in arg."""
    if value is arg:
        return 1
    if not depends_on(value, arg):
        return 0
    owner = value.owner
    if isinstance(owner, Operation) and owner.name in ("arith.addi", "arith.subi", "arith.muli"):
        a, b = (_coefficient(o, arg) for o in owner.operands)
        if a is None or b is None:
            return None
        if owner.name == "arith.addi":
            return a + b
        if owner.name == "arith.subi":
            return a - b
        scale = next((_constant(o) for o in owner.operands if not depends_on(o, arg)), None)
        return None if scale is None else (a or b) * scale
    return None


def _constant(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, Operation) and owner.name == "arith.constant":
        return owner.properties["value"].value.data
    return None


def _accesses(block_body) -> list[tuple[Operation, list[SSAValue]]]:
    found = []
    for op in block_body.ops:
        if op.name == "loop.load":
            found.append((op, list(op.operands[1:])))
        elif op.name == "loop.store":
            found.append((op, list(op.operands[2:])))
    return found


def _vector_operand_iterators(body, vector: int, written: set[SSAValue], channel: bool) -> set[int] | None:
    """The iterators the loads of the vector operand use, or None when the loop at `vector`
    cannot be the tile's vector loop. Along the output's last axis (channel False) every access
    using it has it as the last, unit-stride index (loads may step by two: a strided conv's input,
    gathered by the llvm target). Along another axis (channel True: a conv's output channels)
    the accumulator may use it anywhere, since register-accumulators keeps the tile in a local
    buffer laid out for the vectors; any other load using it reads a constant with the bare
    iterator in one index, which the tile repacks into contiguous panels."""
    iters = list(body.args)
    v_arg = iters[vector]
    touching: set[int] = set()
    for op, indices in _accesses(body):
        uses = [depends_on(ix, v_arg) for ix in indices]
        if not any(uses):
            continue
        accumulator = op.name == "loop.store" or op.operands[0] in written
        if channel:
            if not accumulator and not (_is_constant_buffer(op.operands[0]) and sum(uses) == 1 and v_arg in indices):
                return None
        else:
            allowed = (1, 2) if op.name == "loop.load" else (1,)
            if any(uses[:-1]) or _coefficient(indices[-1], v_arg) not in allowed:
                return None  # a gathered vector access: the plain schedule does better
        if not accumulator:
            touching.update(k for k, arg in enumerate(iters) if any(depends_on(ix, arg) for ix in indices))
    return touching


def _broadcast_operand_iterators(body, vector: int, written: set[SSAValue]) -> set[int]:
    """The iterators that the loads broadcast across the vector loop (those not using it,
    accumulators aside) depend on."""
    iters = list(body.args)
    found: set[int] = set()
    for op, indices in _accesses(body):
        if op.name != "loop.load" or op.operands[0] in written or any(depends_on(ix, iters[vector]) for ix in indices):
            continue
        found.update(k for k, arg in enumerate(iters) if any(depends_on(ix, arg) for ix in indices))
    return found


def _is_constant_buffer(buffer: SSAValue) -> bool:
    return isinstance(buffer.owner, Operation) and buffer.owner.name == "loop.const"


def _channel_vector(body, spatial: list[int], trips: list[int | None], written: set[SSAValue], lanes: int) -> tuple[int, set[int]] | None:
    """A spatial loop other than the last that can carry the vectors (the output channels of a
    conv with constant weights): its extent splits into two-vector panels, at least two of them."""
    for vector in spatial[:-1]:
        trip = trips[vector]
        if trip is None or trip % (2 * lanes) or trip < 4 * lanes:
            continue  # the panels of two vectors the packing and the tile need
        touching = _vector_operand_iterators(body, vector, written, channel=True)
        if touching is not None and touching:
            return vector, touching
    return None


def channel_tile_rows(channels: int, height: int | None, width: int | None, lanes: int) -> int:
    """How many output-position loops (the width, or height x width fused) form the rows of a
    conv tile vectorized along its `channels`, or 0 when the tile runs along the output row.
    The channel tile needs two-vector panels, at least two of them. It wins or ties wherever
    it applies (measured on ResNet shapes): rows need no widening to whole vectors (28 -> 32
    computes 14% more), the weights are aligned loads, and a strided conv's input elements are
    broadcast rather than gathered (the 7x7 stride-2 stem: 0.74 -> 0.97 of onnxruntime). Rows
    shorter than three vectors (7, 14) take the whole image as the rows, so 49 positions make
    12 tiles of 4 and one of 1 rather than rows of 7 in tiles of 4 and 3."""
    if channels % (2 * lanes) or channels < 4 * lanes or width is None:
        return 0
    if width >= 3 * lanes:
        return 1
    return 2 if height is not None and height * width >= 3 * lanes else 0


def plan_tile(chain: list[Operation], trips: list[int | None], lanes: int) -> TilePlan | None:
    """The register tile for a perfect nest `chain` around one reduction block, or None.
    Loops of symbolic extent (None) stay whole; the vector loop must be static."""
    inner = [op for op in chain[-1].regions[0].block.ops if op.name != "loop.yield"]
    if len(inner) != 1 or inner[0].name != "loop.block":
        return None
    block = inner[0]
    kinds = [l.attr("kind") for l in chain]
    if "serial" in kinds or "reduction" not in kinds or kinds[-1] != "reduction":
        return None
    loop_vars = [l.regions[0].block.args[0] for l in chain]
    if list(block.operands) != loop_vars or len(block.attr("iter_kinds")) != len(chain):
        return None
    if [k == REDUCE for k in block.attr("iter_kinds")] != [k == "reduction" for k in kinds]:
        return None
    spatial = [i for i, k in enumerate(kinds) if k == "parallel"]
    reduce = [i for i, k in enumerate(kinds) if k == "reduction"]
    if not spatial or spatial[-1] > reduce[0]:
        return None
    body = block.regions[1].block
    if not any(op.name in ("arith.mulf", "arith.muli") and not isinstance(op.results[0].type, IndexType) for op in body.ops):
        return None  # a pool: no second operand whose loads the tile's rows would share
    written = {op.operands[1] for op in body.ops if op.name == "loop.store"}
    vector, touching_vector = spatial[-1], _vector_operand_iterators(body, spatial[-1], written, channel=False)
    channel = _channel_vector(body, spatial, trips, written, lanes)
    fused_rows = 0
    if channel is not None and len(spatial) >= 3 and channel[0] < spatial[-2]:
        fused_rows = channel_tile_rows(trips[channel[0]], trips[spatial[-2]], trips[spatial[-1]], lanes)
        if fused_rows and not {spatial[-2], spatial[-1]} & channel[1]:
            vector, touching_vector = channel
        else:
            fused_rows = 0
    if touching_vector is None or trips[vector] is None:
        return None
    others = [i for i in spatial if i != vector and (trips[i] is None or trips[i] > 1)]
    reusing = [i for i in others if i not in touching_vector]
    # No loop reuses a vector load (a depthwise conv: every input row belongs to one channel and
    # one output row): each multiply-add loads its own vector, so rows only hide latency.
    unshared = not reusing and vector == spatial[-1]
    narrow_to = unshared_max_lanes(lanes) if unshared else lanes
    if trips[vector] < narrow_to:
        # A row shorter than the widest vector (a classifier's 10 outputs on AVX-512) takes
        # the narrower vectors it fills, down to NARROW_LANES.
        narrow_to = 1 << (trips[vector].bit_length() - 1)
    narrow = lanes > narrow_to >= NARROW_LANES
    if narrow:
        lanes = narrow_to
    if trips[vector] < lanes:
        return None
    nr = next((lanes * m for m in (2, 3, 1) if trips[vector] % (lanes * m) == 0), 0)
    if nr == 0 or unshared and trips[vector] <= UNSHARED_ROW_VECTORS * lanes:
        nr = trips[vector] if trips[vector] <= 4 * lanes else lanes
    vectors = -(-nr // lanes)
    accumulators = channel_accumulators() if vector != spatial[-1] else UNSHARED_ACCUMULATORS if unshared else accumulator_registers()
    limit = max(1, min(MAX_ROWS, accumulators // vectors))
    # Rows that reuse each vector load: a static loop first (the longest), then one of symbolic
    # extent (a batch); loops the vector operand depends on only when nothing else is left.
    static_reusing = [i for i in reusing if trips[i] is not None]
    symbolic_reusing = [i for i in reusing if trips[i] is None]
    touching = [i for i in others if i not in reusing and trips[i] is not None]
    rows, mr, rows_with = -1, 1, -1
    if fused_rows:
        rows = spatial[-1]
        if fused_rows == 2:
            rows_with = spatial[-2]
        mr = row_factor(trips[rows] * (trips[rows_with] if rows_with >= 0 else 1), limit, vectors)
    elif static_reusing or not symbolic_reusing:
        pool = static_reusing or touching
        if unshared:
            # Rows the other operands do not depend on share their broadcasts (a depthwise
            # conv's output rows share each weight; its channels would each broadcast their own).
            broadcast = _broadcast_operand_iterators(body, vector, written)
            pool = [i for i in pool if i not in broadcast] or pool
        if pool:
            rows = max(pool, key=lambda i: (trips[i], i))
            mr = row_factor(trips[rows], limit, vectors)
    else:
        rows, mr = symbolic_reusing[-1], limit
    return TilePlan(block.attr("label"), spatial, reduce, rows, vector, mr, nr, vector != spatial[-1], rows_with, lanes if narrow else None)


def unshared_max_lanes(lanes: int) -> int:
    """The widest vectors of a tile whose vector loads no other row reuses."""
    return min(lanes, UNSHARED_MAX_LANES) if host_target().splits_wide_vectors else lanes


def accumulator_registers() -> int:
    return WIDE_ACCUMULATOR_REGISTERS if host_target().vector_registers >= 32 else ACCUMULATOR_REGISTERS


def channel_accumulators() -> int:
    return WIDE_CHANNEL_ACCUMULATORS if host_target().vector_registers >= 32 else CHANNEL_ACCUMULATORS


def row_factor(trip: int, limit: int, vectors: int) -> int:
    """The rows of a tile over a loop of `trip` iterations, by a cycle estimate per step of the
    reduction: a tile issues MR * vectors FMAs (two per cycle), loads MR + vectors operands
    (two per cycle) and takes at least MIN_STEP_CYCLES. A factor that does not divide leaves a
    partial last tile, counted as two: unswitch-guards gives it a copy unrolled for its row
    count, but one row left runs alone and latency-bound, and the count is chosen at run time
    for a batch. A full-height tile may still win over a small divisor (512 rows: 85 tiles of
    6 and one of 2 beat 128 of 4), since the full tiles get a guard-free body."""

    def cycles(f: int) -> float:
        per_tile = max(f * vectors / 2, MIN_STEP_CYCLES, (f + vectors) / 2)
        return (trip // f + 2 * (trip % f != 0)) * per_tile

    return min(range(min(limit, trip), 0, -1), key=lambda f: (cycles(f), trip % f != 0))


@dataclass(frozen=True)
class Tiled:
    parallel: bool  # a loop of the nest runs across threads
    anchor: LoopRV | None  # the innermost loop outside the reduction: one tile per iteration
    lanes: int | None = None  # the tile's vectors, when narrower than the target's widest


def apply_tile(sch: Schedule, plan: TilePlan, trips: list[int | None], threads: int, parallel: bool) -> Tiled:
    """Record and apply the template for `plan` on `sch` (raises LaminaError on a refusal)."""
    block = sch.get_block(plan.label)
    loops = sch.get_loops(block)
    # The outermost loops are the ones run across threads: static ones with iterations to share
    # first, then the row tiles and panels; then loops of symbolic extent (a batch), which
    # reuse the panel the loops outside them select; single-iteration loops last.
    rest = [i for i in plan.spatial if i not in (plan.rows, plan.vector, plan.rows_with)]
    static = [i for i in rest if trips[i] is not None and trips[i] > 1]
    symbolic = [i for i in rest if trips[i] is None]
    single = [i for i in rest if trips[i] == 1]
    outer: list[LoopRV] = [loops[i] for i in static]
    outer_trips: list[int | None] = [trips[i] for i in static]
    inner: list[LoopRV] = []
    row_loops: list[tuple[LoopRV, int | None]] = []  # the row tiles' loop, when it is an outer loop
    if plan.rows >= 0:
        trip = trips[plan.rows]
        rows_loop = loops[plan.rows]
        if plan.rows_with >= 0:
            rows_loop = sch.fuse(loops[plan.rows_with], loops[plan.rows])
            trip = trips[plan.rows_with] * trip
        if plan.mr > 1 and (trip is None or plan.mr < trip):
            m_outer, m_inner = sch.split(rows_loop, [None, plan.mr])
            row_loops.append((m_outer, None if trip is None else -(-trip // plan.mr)))
            inner.append(m_inner)
        elif plan.mr > 1:
            inner.append(rows_loop)
        else:
            row_loops.append((rows_loop, trip))
    panel_loops: list[tuple[LoopRV, int | None]] = []
    if plan.nr < trips[plan.vector]:
        v_outer, v_inner = sch.split(loops[plan.vector], [None, plan.nr])
        panel_loops.append((v_outer, -(-trips[plan.vector] // plan.nr)))
    else:
        v_inner = loops[plan.vector]
    inner.append(v_inner)
    blocks, slice_k = cache_blocks(plan, trips, row_loops)
    slices = None
    if slice_k:
        slices, slice_inner = sch.split(loops[plan.reduce[0]], [None, BLOCK_K])
    if blocks:
        (m_outer, tiles), = row_loops
        per_block = row_block_tiles(tiles, threads if parallel else 1)
        if per_block < tiles:
            block_loop, tile_loop = sch.split(m_outer, [None, per_block])
            row_loops = [(block_loop, -(-tiles // per_block))]
            panel_loops = panel_loops + [(tile_loop, per_block)]
        else:
            row_loops, panel_loops = [], panel_loops + row_loops
    # A batch of rows (symbolic) goes inside the panels, so each panel serves every row tile.
    symbolic_rows = plan.rows >= 0 and trips[plan.rows] is None
    if plan.channel:
        # A panel of weights serves every output position: it stays in cache across them.
        outer = [l for l, _ in panel_loops] + outer
        outer_trips = [t for _, t in panel_loops] + outer_trips
        panel_loops = []
    for loop, trip in (panel_loops + row_loops) if symbolic_rows else (row_loops + panel_loops):
        outer.append(loop)
        outer_trips.append(trip)
    outer += [loops[i] for i in symbolic + single]
    outer_trips += [trips[i] for i in symbolic + single]
    if row_loops and not symbolic_rows and rows_select_every_input(sch.runner.block(block.value, sch.sequence), plan.rows):
        # A depthwise conv: split by channels, each thread reads only its own channels (split
        # by output rows, the threads shared the rows around each boundary, and the channels
        # another thread had padded: two threads ran 64x56x56 slower than one).
        k = outer.index(row_loops[0][0])
        outer.insert(0, outer.pop(k))
        outer_trips.insert(0, outer_trips.pop(k))
    reduce = [loops[i] for i in plan.reduce] if slices is None else [slice_inner]
    if slices is None:
        sch.reorder(*outer, *reduce, *inner)
        init = sch.decompose_reduction(block, reduce[0])
    else:
        sch.reorder(slices, *outer, *reduce, *inner)
        init = sch.decompose_reduction(block, slices)
    init_loops = sch.get_loops(init)
    if init_loops:
        sch.vectorize(init_loops[-1], plan.lanes)
    if len(inner) == 2:
        sch.unroll(inner[0])
    sch.vectorize(v_inner, plan.lanes)
    if plan.nr < trips[plan.vector]:
        pack_vector_operand(sch.runner.block(block.value, sch.sequence), plan.vector, plan.nr)
    if blocks:
        pack_rows(sch, block, plan)
    # Under the slices of the reduction a tile holds partial sums: an epilogue cannot run there.
    # A tile along the output channels holds its outputs transposed to the output's layout (a
    # vector per position, the output contiguous along positions): an epilogue inside it runs
    # on 4-wide pieces between scalar stores, slower than its own nest vectorized along the
    # positions (measured: 3x3 conv 64 channels at 56x56 with bias and ReLU, 3.16 -> 2.97 ms).
    anchor = (outer[-1] if outer else None) if slices is None and not plan.channel else None
    if not (parallel and outer):
        return Tiled(False, anchor, plan.lanes)
    # Every spatial loop is parallel by kind; the outermost one runs across threads.
    fused, count = fuse_for_threads(sch, outer, outer_trips, threads)
    return Tiled(True, fused if count == len(outer) and anchor is not None else anchor, plan.lanes)


def rows_select_every_input(block: Operation, rows: int) -> bool:
    """Whether every buffer the block reads but does not write is indexed by its rows iterator."""
    body = block.regions[1].block
    written = {op.operands[1] for op in body.ops if op.name == "loop.store"}
    loads = [op for op in body.ops if op.name == "loop.load" and op.operands[0] not in written]
    return bool(loads) and all(any(depends_on(ix, body.args[rows]) for ix in op.operands[1:]) for op in loads)


def cache_blocks(plan: TilePlan, trips: list[int | None], row_loops: list) -> tuple[bool, bool]:
    """Whether the tile gets row blocks (one reduction loop, a static row-tile loop, panels
    larger than the caches hold), and whether its reduction is sliced too."""
    if plan.channel or len(plan.reduce) != 1 or len(row_loops) != 1 or row_loops[0][1] is None:
        return False, False
    k, n = trips[plan.reduce[0]], trips[plan.vector]
    fits = UNBLOCKED_PANEL_BYTES if UNBLOCKED_PANEL_BYTES is not None else host_target().l2_bytes
    if k is None or n is None or k * n * 4 <= fits:
        return False, False
    return True, k >= 2 * BLOCK_K and k % BLOCK_K == 0


def row_block_tiles(tiles: int, threads: int) -> int:
    """Row tiles per block: about BLOCK_ROW_TILES, with a whole number of blocks per thread
    (the blocks are what the threads share)."""
    blocks = -(-tiles // BLOCK_ROW_TILES)
    blocks = -(-blocks // threads) * threads
    return -(-tiles // blocks)


def pack_rows(sch: Schedule, block: BlockRV, plan: TilePlan) -> None:
    """The row operand copied, before the nest, into tiles of MR rows (see BLOCK_ROW_TILES)."""
    op = sch.runner.block(block.value, sch.sequence)
    found = row_operand_load(op, plan.rows)
    if found is None:
        return
    load, axis = found
    copy = sch.cache_read(block, buffers_accessed(op, stores=False).index(load.operands[0]), "global")
    pack_row_operand(sch.runner.block(copy.value, sch.sequence), load, axis, plan.mr)


def fuse_for_threads(sch: Schedule, loops: list[LoopRV], trips: list[int | None], threads: int) -> tuple[LoopRV, int]:
    """Fuse the shortest prefix of `loops` (consecutive, outermost first) that has at least
    four iterations per thread, so the static chunks balance; a symbolic extent ends it.
    Returns the loop that runs across threads and how many of `loops` it covers."""
    count, total = 0, 1
    for trip in trips:
        if trip is None:
            count = max(count, 1)
            break
        count += 1
        total *= trip
        if total >= 4 * threads:
            break
    return (loops[0] if count == 1 else sch.fuse(*loops[:count])), count


def fusable_prefix_trips(chain: list[Operation], trips: list[int | None]) -> list[int]:
    """Trip counts of the leading parallel loops of a perfect nest, up to the first symbolic one."""
    prefix = []
    for loop, trip in zip(chain, trips):
        if loop.attr("kind") != "parallel" or trip is None:
            break
        prefix.append(trip)
    return prefix


__all__ = ["TilePlan", "Tiled", "plan_tile", "apply_tile", "fuse_for_threads", "fusable_prefix_trips"]
