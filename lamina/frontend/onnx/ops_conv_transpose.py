"""ConvTranspose as a convolution: the input is spread out by the stride (zeros between
elements), padded by what the kernel overhangs, and convolved at stride 1 with the kernel
flipped and its channel axes swapped (per group)."""

from __future__ import annotations

from lamina.frontend.onnx.context import ImportContext, Unsupported, Val
from lamina.frontend.onnx.registry import converts
from lamina.ir.dims import dim_mul


def _auto_pad(attrs) -> str:
    auto = attrs.get("auto_pad", "NOTSET")
    return auto.decode() if isinstance(auto, bytes) else auto


def transpose_pads(attrs, spatial, kernel, strides, dilations, output_padding) -> tuple[list[int], list[int]]:
    """(begin, end) padding of the transposed convolution's output, from pads, output_shape or
    auto_pad as the ONNX spec and reference define them (onnxruntime splits an odd total the
    other way round)."""
    n = len(kernel)
    natural = [s * (i - 1) + p + (k - 1) * d + 1 for i, k, s, d, p in zip(spatial, kernel, strides, dilations, output_padding)]
    auto = _auto_pad(attrs)
    output_shape = list(attrs["output_shape"])[-n:] if "output_shape" in attrs else None
    if "pads" in attrs and auto in ("NOTSET", ""):
        pads = list(attrs["pads"])
        begin, end = pads[:n], pads[n:]
        if output_shape is not None:
            end = [nat - b - o for nat, b, o in zip(natural, begin, output_shape)]
        return begin, end
    if output_shape is None:
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            output_shape = [i * s for i, s in zip(spatial, strides)]
        else:
            return [0] * n, [0] * n
    # A wanted output larger than the natural one has no padding to split: it grows at the end.
    total = [max(nat - o, 0) for nat, o in zip(natural, output_shape)]
    begin = [t // 2 for t in total] if auto == "SAME_UPPER" else [t - t // 2 for t in total]
    return begin, [nat - b - o for nat, b, o in zip(natural, begin, output_shape)]


@converts("ConvTranspose")
def conv_transpose(ctx: ImportContext, ins, attrs):
    x, w = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    rank = ctx.rank(x)
    if rank not in (3, 4):
        raise Unsupported(f"ConvTranspose over {rank - 2} spatial dims (lamina has 1-D and 2-D)")
    n = rank - 2
    shape = list(ctx.shape(x))
    w_shape = list(ctx.shape(w))
    spatial = shape[2:]
    if not all(isinstance(d, int) for d in spatial + w_shape):
        raise Unsupported("ConvTranspose with symbolic spatial sizes or weight shape")
    kernel = list(attrs.get("kernel_shape") or w_shape[2:])
    strides = list(attrs.get("strides", [1] * n))
    dilations = list(attrs.get("dilations", [1] * n))
    output_padding = list(attrs.get("output_padding", [0] * n))
    groups = attrs.get("group", 1)
    begin, end = transpose_pads(attrs, spatial, kernel, strides, dilations, output_padding)
    if n == 1:  # run as 2-D with a unit height
        x = Val(ssa=ctx.emit("unsqueeze", [x], {"axes": [2]}))
        w = Val(ssa=ctx.emit("unsqueeze", [w], {"axes": [2]}))
        spatial, kernel, strides, dilations = [1, *spatial], [1, *kernel], [1, *strides], [1, *dilations]
        output_padding, begin, end = [0, *output_padding], [0, *begin], [0, *end]
    batch, channels = shape[0], shape[1]
    (h, wd), (sh, sw) = spatial, strides
    # Spread: [N, C, H, W] -> [N, C, H, 1, W, 1] -> zeros after each element -> [N, C, H*sh, W*sw].
    spread = ctx.emit("reshape", [x], {"shape": [batch, channels, h, 1, wd, 1]})
    spread = ctx.emit("pad", [spread], {"pads": [0] * 6 + [0, 0, 0, sh - 1, 0, sw - 1]})
    spread = ctx.emit("reshape", [spread], {"shape": [batch, channels, dim_mul(h, sh), dim_mul(wd, sw)]})
    # The spread input carries stride-1 trailing zeros; the kernel overhang pads both sides.
    overhang = [(k - 1) * d for k, d in zip(kernel, dilations)]
    lo = [o - b for o, b in zip(overhang, begin)]
    hi = [o - e + p - (s - 1) for o, e, p, s in zip(overhang, end, output_padding, strides)]
    padded = ctx.emit("pad", [spread], {"pads": [0, 0, *lo, 0, 0, *hi]})
    # Weight [C_in, C_out/g, kh, kw] -> [C_out, C_in/g, kh, kw], spatially flipped.
    c_in, c_out_g, kh, kw = ctx.shape(w)
    weight = ctx.emit("reshape", [w], {"shape": [groups, c_in // groups, c_out_g, kh, kw]})
    weight = ctx.emit("transpose", [weight], {"perm": [0, 2, 1, 3, 4]})
    weight = ctx.emit("reshape", [weight], {"shape": [groups * c_out_g, c_in // groups, kh, kw]})
    weight = ctx.emit("slice", [weight], {"starts": [kh - 1, kw - 1], "ends": [-kh - 1, -kw - 1], "axes": [2, 3], "steps": [-1, -1]})
    operands = [padded, weight] + ([ctx.ssa(bias)] if bias is not None else [])
    y = ctx.emit("conv2d", operands, {"strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": dilations, "groups": groups})
    if n == 1:
        y = ctx.emit("squeeze", [y], {"axes": [2]})
    return [Val(ssa=y)]
