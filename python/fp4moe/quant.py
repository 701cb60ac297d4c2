"""NVFP4 codecs on host arrays, with the library's own rounding (the one every backend matches bit
for bit): quantize, dequantize and the 128x4 scale swizzle, to prepare and check weights."""

from fp4moe import _core
from fp4moe._arrays import to_host_numpy


def quantize_nvfp4(x, global_scale, scale_layout="linear"):
    """x float32 or bfloat16 [rows, cols] (cols a multiple of 16) -> (packed uint8 [rows, cols/2],
    scales uint8 E4M3). Scales are [rows, cols/16] for "linear", the padded 128x4 tiles
    [round_up(rows, 128), round_up(cols/16, 4)] for "swizzled". global_scale = 448 * 6 / amax."""
    return _core.quantize_nvfp4(to_host_numpy(x, "x"), float(global_scale), str(scale_layout))


def quantize_weight(w):
    """A weight matrix as ModelOpt quantizes it, and as `fp4moe quantize` writes it: w float32 or
    bfloat16 [N, K] (K a multiple of 16) -> (packed uint8 [N, K/2], linear scales uint8 [N, K/16],
    weight_scale_2), with the global scale from amax(w) and weight_scale_2 = amax / 2688. NaN or Inf
    weights raise fp4moe.Error."""
    return _core.quantize_weight(to_host_numpy(w, "w"))


def nvfp4_from_mxfp4(blocks, scales):
    """An MXFP4 weight matrix (gpt-oss's experts: E2M1 codes under one E8M0 power of two per 32) in NVFP4,
    without rounding where its block exponents allow: blocks uint8 [N, K/2] or [N, K/32, 16], scales uint8
    [N, K/32] -> (packed uint8 [N, K/2], linear scales uint8 [N, K/16], weight_scale_2, inexact_blocks). The
    codes stay as they are; every weight keeps its MXFP4 value exactly but in the 16-element blocks counted
    in inexact_blocks (more than 17 octaves below the matrix's largest block), which are quantized from their
    values. A scale of 255 (NaN) raises fp4moe.Error."""
    return _core.nvfp4_from_mxfp4(to_host_numpy(blocks, "blocks"), to_host_numpy(scales, "scales"))


def dequantize_mxfp4(blocks, scales):
    """e2m1(blocks) * 2^(scales - 127) as float32 [N, K]: blocks uint8 [N, K/2] or [N, K/32, 16], scales
    uint8 [N, K/32]."""
    return _core.dequantize_mxfp4(to_host_numpy(blocks, "blocks"), to_host_numpy(scales, "scales"))


def dequantize_nvfp4(packed, scales, scale_mult, scale_layout="linear", cols=None):
    """e2m1(packed) * e4m3(scales) * scale_mult as float32 [rows, cols]; scale_mult is
    1 / global_scale for activations or weight_scale_2 for checkpoint weights. cols defaults to
    2 * packed.shape[1]."""
    return _core.dequantize_nvfp4(to_host_numpy(packed, "packed"), to_host_numpy(scales, "scales"),
                                  float(scale_mult), str(scale_layout), -1 if cols is None else int(cols))


def swizzle_scales(scales):
    """Linear scales [rows, cols/16] -> the swizzled 128x4 tiles [round_up(rows, 128), round_up(cols/16, 4)]."""
    return _core.swizzle_scales(to_host_numpy(scales, "scales"))


def unswizzle_scales(swizzled, rows, cols):
    """Swizzled 128x4 tiles of a [rows, cols] matrix -> linear scales [rows, cols/16]. `cols` counts
    matrix elements (K), not scale columns, as everywhere in fp4moe."""
    return _core.unswizzle_scales(to_host_numpy(swizzled, "swizzled"), int(rows), int(cols))


def amax(x):
    """max |x| over a float32 or bfloat16 array (NaN if any element is NaN)."""
    return _core.amax(to_host_numpy(x, "x"))


def global_scale_from_amax(amax_value):
    """448 * 6 / amax (1 for amax 0, NaN for a non-finite amax)."""
    return _core.global_scale_from_amax(float(amax_value))
