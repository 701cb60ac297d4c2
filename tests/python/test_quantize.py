"""The NVFP4 codecs exposed to Python (quantize, dequantize, swizzle) against the NumPy codecs of
moe_data.py, written from the contract: quantization must agree bit for bit."""

import numpy as np
import pytest

import fp4moe
import moe_data


def random_matrix(rng, rows, cols):
    # Mixed magnitudes so that blocks use many scale exponents.
    return (rng.standard_normal((rows, cols)) * np.exp(rng.uniform(-4, 4, size=(rows, 1)))).astype(np.float32)


@pytest.mark.parametrize("rows,cols", [(1, 16), (7, 48), (130, 272), (256, 64)])
def test_quantize_matches_contract_bit_for_bit(rows, cols):
    rng = np.random.default_rng(rows * 1000 + cols)
    x = random_matrix(rng, rows, cols)
    gs = fp4moe.global_scale_from_amax(fp4moe.amax(x))
    packed, scales = fp4moe.quantize_nvfp4(x, gs)
    want_packed, want_scales = moe_data.quantize(x, gs)
    assert packed.shape == (rows, cols // 2) and scales.shape == (rows, cols // 16)
    np.testing.assert_array_equal(scales, want_scales)
    np.testing.assert_array_equal(packed, want_packed)


def test_quantize_weight_is_the_modelopt_recipe():
    w = random_matrix(np.random.default_rng(11), 24, 48)
    packed, scales, scale_2 = fp4moe.quantize_weight(w)
    a = fp4moe.amax(w)
    want_packed, want_scales = fp4moe.quantize_nvfp4(w, fp4moe.global_scale_from_amax(a))
    np.testing.assert_array_equal(packed, want_packed)
    np.testing.assert_array_equal(scales, want_scales)
    assert scale_2 == np.float32(a) / np.float32(2688)
    # Dequantized with its scale_2, the weight comes back to within NVFP4's rounding.
    back = fp4moe.dequantize_nvfp4(packed, scales, scale_2)
    assert np.abs(back - w).max() <= 0.25 * a
    assert fp4moe.quantize_weight(moe_data.to_bf16(w))[2] == np.float32(fp4moe.amax(moe_data.to_bf16(w))) / np.float32(2688)
    w[3, 5] = np.nan
    with pytest.raises(fp4moe.Error, match="quantize_weight: w: expected finite weights, got NaN or Inf"):
        fp4moe.quantize_weight(w)
    with pytest.raises(fp4moe.Error, match="quantize_weight: w: expected a positive multiple of 16 columns, got 40"):
        fp4moe.quantize_weight(w[:, :40])


def test_quantize_rounds_ties_to_even():
    # With vmax = 6 and global scale 1 the block scale is exactly 1, so x * inv hits every E2M1 tie.
    ties = np.array([6, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, -0.25, -0.75, -1.25, -1.75, -2.5, -3.5, -5, -6],
                    dtype=np.float32)
    packed, scales = fp4moe.quantize_nvfp4(ties[None, :], 1.0)
    assert moe_data.e4m3_to_float(scales)[0, 0] == 1.0
    decoded = moe_data.unpack_e2m1(packed)[0]
    np.testing.assert_array_equal(decoded, [6, 0, 1, 1, 2, 2, 4, 4, -0.0, -1, -1, -2, -2, -4, -4, -6])


def test_quantize_accepts_bfloat16_bits():
    bits = moe_data.to_bf16(random_matrix(np.random.default_rng(1), 9, 32))
    values = moe_data.bf16_to_float64(bits).astype(np.float32)
    gs = fp4moe.global_scale_from_amax(fp4moe.amax(bits))
    assert fp4moe.amax(bits) == np.abs(values).max()
    for a, b in zip(fp4moe.quantize_nvfp4(bits, gs), fp4moe.quantize_nvfp4(values, gs)):
        np.testing.assert_array_equal(a, b)


def test_quantize_accepts_ml_dtypes_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes is not installed")
    x = random_matrix(np.random.default_rng(2), 9, 32).astype(ml_dtypes.bfloat16)
    gs = fp4moe.global_scale_from_amax(fp4moe.amax(x))
    for a, b in zip(fp4moe.quantize_nvfp4(x, gs), fp4moe.quantize_nvfp4(x.view(np.uint16), gs)):
        np.testing.assert_array_equal(a, b)


def test_host_codecs_copy_strided_inputs():
    x = random_matrix(np.random.default_rng(5), 8, 64)
    for a, b in zip(fp4moe.quantize_nvfp4(x[:, ::2], 1.0), fp4moe.quantize_nvfp4(x[:, ::2].copy(), 1.0)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("rows,cols", [(5, 16), (128, 64), (200, 80)])
def test_swizzle_layout_and_round_trip(rows, cols):
    rng = np.random.default_rng(rows + cols)
    linear = moe_data.random_scale_codes(rng, (rows, cols // 16))
    swizzled = fp4moe.swizzle_scales(linear)
    np.testing.assert_array_equal(swizzled, moe_data.swizzle(linear))
    np.testing.assert_array_equal(fp4moe.unswizzle_scales(swizzled, rows, cols), linear)


def test_swizzled_quantize_equals_swizzled_linear_scales():
    rng = np.random.default_rng(2)
    x = random_matrix(rng, 150, 96)
    gs = fp4moe.global_scale_from_amax(np.abs(x).max())
    packed_l, scales_l = fp4moe.quantize_nvfp4(x, gs, scale_layout="linear")
    packed_s, scales_s = fp4moe.quantize_nvfp4(x, gs, scale_layout="swizzled")
    np.testing.assert_array_equal(packed_l, packed_s)
    assert scales_s.shape == (256, 8)
    np.testing.assert_array_equal(scales_s, moe_data.swizzle(scales_l))


@pytest.mark.parametrize("layout", ["linear", "swizzled"])
def test_dequantize_matches_contract(layout):
    rng = np.random.default_rng(3)
    packed = rng.integers(0, 256, size=(33, 40), dtype=np.uint8)
    scales = moe_data.random_scale_codes(rng, (33, 5))
    want = moe_data.dequantize(packed, scales, 0.125)
    stored = scales if layout == "linear" else fp4moe.swizzle_scales(scales)
    got = fp4moe.dequantize_nvfp4(packed, stored, 0.125, scale_layout=layout)
    assert got.dtype == np.float32 and got.shape == (33, 80)
    np.testing.assert_array_equal(got, want.astype(np.float32))


def test_quantize_dequantize_error_is_within_format_bound():
    rng = np.random.default_rng(4)
    x = random_matrix(rng, 64, 128)
    gs = fp4moe.global_scale_from_amax(np.abs(x).max())
    back = fp4moe.dequantize_nvfp4(*fp4moe.quantize_nvfp4(x, gs), 1.0 / gs)
    err = np.linalg.norm(back - x) / np.linalg.norm(x)
    print(f"NVFP4 round-trip relative error {err:.4f}")
    assert 0 < err < 0.15


def test_global_scale_from_amax():
    assert fp4moe.global_scale_from_amax(0.0) == 1.0
    assert fp4moe.global_scale_from_amax(2688.0) == 1.0
    assert fp4moe.global_scale_from_amax(3.0) == pytest.approx(896.0)
    assert np.isnan(fp4moe.global_scale_from_amax(float("inf")))
    assert np.isnan(fp4moe.amax(np.array([1.0, np.nan], dtype=np.float32)))


@pytest.mark.parametrize("call,argument", [
    (lambda: fp4moe.quantize_nvfp4(np.ones((4, 24), np.float32), 1.0), "x"),
    (lambda: fp4moe.quantize_nvfp4(np.ones((4, 32), np.float64), 1.0), "x"),
    (lambda: fp4moe.quantize_nvfp4(np.ones((2, 4, 32), np.float32), 1.0), "x"),
    (lambda: fp4moe.quantize_nvfp4(np.ones((4, 32), np.float32), float("nan")), "global_scale"),
    (lambda: fp4moe.quantize_nvfp4(np.ones((4, 32), np.float32), 1.0, scale_layout="tiled"), "scale_layout"),
    (lambda: fp4moe.dequantize_nvfp4(np.zeros((4, 16), np.uint8), np.zeros((4, 3), np.uint8), 1.0), "scales"),
    (lambda: fp4moe.dequantize_nvfp4(np.zeros((4, 16), np.int8), np.zeros((4, 2), np.uint8), 1.0), "packed"),
    (lambda: fp4moe.unswizzle_scales(np.zeros((128, 4), np.uint8), 128, 128), "swizzled"),
])
def test_codec_errors_name_the_argument(call, argument):
    with pytest.raises(fp4moe.Error, match=f": {argument}: expected"):
        call()


def test_mxfp4_to_nvfp4_keeps_every_value():
    """gpt-oss's MXFP4 (E2M1 codes, one E8M0 power of two per 32) through nvfp4_from_mxfp4: the same codes,
    and NVFP4's dequantization equal to the MXFP4 values written out here, in both block shapes; exponents
    more than 17 octaves apart are counted, and a NaN scale is refused."""
    rng = np.random.default_rng(21)
    lut = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6])
    blocks = rng.integers(0, 256, size=(6, 3, 16), dtype=np.uint8)  # [N, K/32, 16], K = 96
    scales = (127 + rng.integers(-12, 6, size=(6, 3))).astype(np.uint8)
    codes = np.stack([blocks & 0xF, blocks >> 4], axis=-1).reshape(6, 96)
    values = (lut[codes] * np.exp2(np.repeat(scales.astype(np.float64) - 127, 32, axis=1))).astype(np.float32)
    np.testing.assert_array_equal(fp4moe.dequantize_mxfp4(blocks, scales), values)
    for shaped in (blocks, blocks.reshape(6, 48)):
        packed, nv_scales, scale_2, inexact = fp4moe.nvfp4_from_mxfp4(shaped, scales)
        assert inexact == 0 and packed.shape == (6, 48) and nv_scales.shape == (6, 6)
        np.testing.assert_array_equal(packed, blocks.reshape(6, 48))
        np.testing.assert_array_equal(fp4moe.dequantize_nvfp4(packed, nv_scales, scale_2), values)
    wide = scales.copy()
    wide[0, 0] = 127 + 8  # the largest exponent: halves below 8 - 17 = -9 are out of E4M3's reach
    halves = np.stack([blocks[..., :8], blocks[..., 8:]], axis=2)  # [N, K/32, 2, 8]
    nonzero = (halves & 0x77).any(axis=-1)
    out_of_reach = (wide.astype(int) - 127 < 8 - 17)[..., None] & nonzero
    assert out_of_reach.sum() > 0
    assert fp4moe.nvfp4_from_mxfp4(blocks, wide)[3] == out_of_reach.sum()
    wide[2, 2] = 255
    with pytest.raises(fp4moe.Error, match=r"nvfp4_from_mxfp4: scales: expected E8M0 scales other than 0xFF \(NaN\), "
                                           r"got 0xFF at \[2, 2\]"):
        fp4moe.nvfp4_from_mxfp4(blocks, wide)
    with pytest.raises(fp4moe.Error, match=r"nvfp4_from_mxfp4: blocks: expected"):
        fp4moe.nvfp4_from_mxfp4(blocks[:, :2], scales)
