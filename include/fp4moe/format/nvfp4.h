// NVFP4 codecs (spec section 1 and 2): E2M1 elements, E4M3 block scales, nibble packing and the
// 16-element block quantizer. One implementation for host and device, so the CPU and CUDA
// backends agree bit for bit. Every rounding here is round-to-nearest-even and saturating.
#pragma once
#include <cmath>

#include "fp4moe/format/hd.h"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#define FP4MOE_E4M3_CVT 1  // E4M3 conversions in hardware: e4m3_to_float, float_to_e4m3
#endif

namespace fp4moe {

inline constexpr int kNvfp4BlockSize = 16;  // elements per E4M3 block scale, along K
inline constexpr float kE2M1Max = 6.0f;
inline constexpr float kE4M3Max = 448.0f;
inline constexpr uint8_t kE4M3NaN = 0x7F;  // the only NaN encodings are 0x7F and 0xFF

// ---- E2M1 (4 bits: sign, 2 exponent, 1 mantissa; magnitudes 0 .5 1 1.5 2 3 4 6) ----

FP4MOE_HD float e2m1_to_float(uint8_t code) {
  const uint32_t mag = code & 7u;
  const uint32_t exp = mag >> 1, man = mag & 1u;
  const float v = exp == 0 ? 0.5f * float(man) : float(2 + man) * float(1u << exp) * 0.25f;
  return (code & 8u) ? -v : v;
}

// Round-to-nearest-even with saturation to +-6. The boundaries are the midpoints between
// adjacent codes; a tie goes to the even code (0.25->0, 0.75->1, 1.25->1, 1.75->2, 2.5->2,
// 3.5->4, 5->4). E2M1 has no NaN: a NaN becomes +6 (code 7, whatever its sign bit, which
// hardware does not preserve alike), and the block quantizer marks its block with a NaN scale so
// that the NaN is never hidden.
FP4MOE_HD uint8_t float_to_e2m1(float x) {
  if (is_nan(x)) return 7;
  const uint8_t sign = (float_to_bits(x) >> 28) & 8u;
  const float a = bits_to_float(float_to_bits(x) & 0x7FFFFFFFu);
  uint8_t mag;
  if (a <= 0.25f) mag = 0;
  else if (a < 0.75f) mag = 1;
  else if (a <= 1.25f) mag = 2;
  else if (a < 1.75f) mag = 3;
  else if (a <= 2.5f) mag = 4;
  else if (a < 3.5f) mag = 5;
  else if (a <= 5.0f) mag = 6;
  else mag = 7;  // > 5 and Inf saturate
  return sign | mag;
}

// The value of float_to_e2m1(x), e2m1_to_float(code), without the code: what fake quantization
// needs. The grid has steps of 0.5 below 2, 1 up to 4 and 2 beyond. Adding 1.5 * 2^(23 + log2 step)
// puts x in a binade whose spacing is the step, so that one IEEE addition rounds x to the grid (ties to
// even: the constant is an even multiple of the step), and subtracting it again is exact. The sign of
// x goes back onto the result so that a value that rounds to zero keeps it, as the code does; the
// clamp saturates at +-6, and takes a NaN to +6 as the codec does (fminf and fmaxf return the
// number). Additions instead of rintf (FRND, a quarter-rate conversion on the GPU) and no branch;
// equal to the codec for every float (tests/format/test_e2m1.cpp checks all 2^32, and
// tests/cuda/test_codec_device.cu does on the GPU).
FP4MOE_HD float e2m1_round(float x) {
  const float a = fabsf(x);
  const float shift = a < 2.0f ? 0x1.8p22f : a < 4.0f ? 0x1.8p23f : 0x1.8p24f;
  const float rounded = (x + shift) - shift;
  const float signed_rounded = bits_to_float(float_to_bits(rounded) | (float_to_bits(x) & 0x80000000u));
  return fmaxf(fminf(signed_rounded, kE2M1Max), -kE2M1Max);
}

// Two elements per byte: element 2i in the low nibble, 2i+1 in the high nibble.
FP4MOE_HD uint8_t pack_e2m1x2(uint8_t even, uint8_t odd) { return uint8_t((even & 0xFu) | (odd << 4)); }
FP4MOE_HD uint8_t unpack_e2m1(uint8_t byte, int which) { return which ? (byte >> 4) : (byte & 0xFu); }

// ---- E4M3 (FN variant: bias 7, no Inf, NaN = S.1111.111, max 448) ----

// E4M3's NaNs as every path of the codec makes them: a NaN float encodes to 0x7F with its sign, and
// a NaN code decodes to the quiet NaN with the code's sign.
FP4MOE_HD uint8_t e4m3_nan_code(uint32_t float_bits) { return uint8_t(((float_bits >> 24) & 0x80u) | kE4M3NaN); }
FP4MOE_HD float e4m3_nan_value(uint8_t code) { return bits_to_float((uint32_t(code & 0x80u) << 24) | 0x7FC00000u); }

// A block scale the contract accepts (spec section 1): not NaN and sign bit clear (a scale is a
// block's amax / 6, never negative; a set sign bit, -0 included, means a corrupt or mistyped tensor).
// Every loader checks with this: the checkpoint reader, the CPU layer and the CUDA repack kernel.
FP4MOE_HD bool is_valid_block_scale(uint8_t code) { return !(code & 0x80u) && (code & 0x7Fu) != kE4M3NaN; }

// The codec in integer and float arithmetic: the host's, and the reference of the GPU's conversions
// below (tests/cuda/test_codec_device.cu compares them on every input).
FP4MOE_HD float soft_e4m3_to_float(uint8_t code) {
  const uint32_t sign = uint32_t(code & 0x80u) << 24;
  const uint32_t exp = (code >> 3) & 0xFu, man = code & 7u;
  if (exp == 15 && man == 7) return e4m3_nan_value(code);
  if (exp == 0) return bits_to_float(sign | float_to_bits(float(man) * 0.001953125f));  // man * 2^-9
  return bits_to_float(sign | ((exp + 120u) << 23) | (man << 20));
}

// Round-to-nearest-even, saturating to +-448 (Inf too); NaN -> NaN (0x7F, sign kept).
FP4MOE_HD uint8_t soft_float_to_e4m3(float x) {
  const uint32_t bits = float_to_bits(x);
  const uint8_t sign = uint8_t((bits >> 24) & 0x80u);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return e4m3_nan_code(bits);
  if (abs >= 0x43E00000u) return sign | 0x7Eu;  // >= 448
  if (abs < 0x3C800000u) {                       // < 2^-6: subnormal codes, step 2^-9
    const float steps = bits_to_float(abs) * 512.0f;  // exact: scaling by a power of two
    return sign | uint8_t(rintf(steps));              // 8 steps is 2^-6, code 0x08: still right
  }
  // Normal: keep 3 mantissa bits, round to nearest even on the dropped 20 bits; a carry moves
  // into the exponent as it should. The re-biased result cannot pass 0x7E since abs < 448.
  const uint32_t rounded = (abs + 0x7FFFFu + ((abs >> 20) & 1u)) >> 20;
  return sign | uint8_t(rounded - (120u << 3));
}

// The codec as the rest of the project calls it. On sm_89+ each direction is one conversion
// instruction (cvt.rn.satfinite.e4m3x2.f32; cvt.rn.f16x2.e4m3x2, exact since E4M3 is a subset of
// FP16) where the soft codec takes a dozen and a branch; NaNs are made as the soft codec makes them,
// whatever sign and payload the conversions would give, so the two agree bit for bit.
FP4MOE_HD float e4m3_to_float(uint8_t code) {
#if defined(FP4MOE_E4M3_CVT)
  const float value = __half2float(__half(__nv_cvt_fp8_to_halfraw(code, __NV_E4M3)));
  return (code & 0x7Fu) == kE4M3NaN ? e4m3_nan_value(code) : value;
#else
  return soft_e4m3_to_float(code);
#endif
}

FP4MOE_HD uint8_t float_to_e4m3(float x) {
#if defined(FP4MOE_E4M3_CVT)
  const uint8_t code = __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3);
  return is_nan(x) ? e4m3_nan_code(float_to_bits(x)) : code;
#else
  return soft_float_to_e4m3(x);
#endif
}

// ---- Global scale and the 16-element block quantizer (spec section 2) ----

// The largest global scale: with it, inv = global_scale / s stays finite for the smallest non-zero
// block scale (2^-9), so 0 * inv is 0 and not NaN. Only an amax below ~8e-33 reaches it.
inline constexpr float kMaxGlobalScale = 0x1p118f;

// global_scale = 448*6/amax; amax == 0 -> 1 (all codes 0). A non-finite amax gives NaN, so that
// every block scale becomes NaN and the NaN shows in the output instead of being hidden.
FP4MOE_HD float global_scale_from_amax(float amax) {
  if (amax == 0.0f) return 1.0f;
  if (!is_finite(amax)) return bits_to_float(0x7FC00000u);
  const float scale = (kE4M3Max * kE2M1Max) / amax;
  return scale < kMaxGlobalScale ? scale : kMaxGlobalScale;
}

// s = e4m3(global_scale * vmax / 6): exact IEEE multiply then divide, in this order.
FP4MOE_HD uint8_t nvfp4_block_scale(float vmax, float global_scale) {
  return float_to_e4m3(global_scale * vmax / kE2M1Max);
}

// inv = global_scale / float(s), exact division (not rcp.approx), 0 for a zero scale.
FP4MOE_HD float nvfp4_block_inv_scale(uint8_t scale, float global_scale) {
  const float s = e4m3_to_float(scale);
  return s == 0.0f ? 0.0f : global_scale / s;
}

// max |x| over a block; a NaN wins.
FP4MOE_HD float nvfp4_block_amax(const float (&x)[kNvfp4BlockSize]) {
  float vmax = 0.0f;
  for (int i = 0; i < kNvfp4BlockSize; ++i) vmax = nan_max(vmax, fabsf(x[i]));
  return vmax;
}

// Quantizes 16 consecutive values: 8 packed bytes and the E4M3 scale byte.
FP4MOE_HD uint8_t quantize_nvfp4_block(const float (&x)[kNvfp4BlockSize], float global_scale,
                                       uint8_t (&packed)[kNvfp4BlockSize / 2]) {
  const uint8_t scale = nvfp4_block_scale(nvfp4_block_amax(x), global_scale);
  const float inv = nvfp4_block_inv_scale(scale, global_scale);
  for (int i = 0; i < kNvfp4BlockSize; i += 2)
    packed[i / 2] = pack_e2m1x2(float_to_e2m1(x[i] * inv), float_to_e2m1(x[i + 1] * inv));
  return scale;
}

// What fake quantization multiplies a block's values by, from the block's amax: inv before the
// E2M1 rounding and the decoded scale s after it. Split from the block so that a GEMM epilogue whose
// block is spread over several lanes can reduce the amax first (gemm/epilogues.cuh).
struct Nvfp4FakeScale {
  float inv, s;
};

FP4MOE_HD Nvfp4FakeScale nvfp4_fake_scale(float vmax, float global_scale) {
  const uint8_t scale = nvfp4_block_scale(vmax, global_scale);
  return {nvfp4_block_inv_scale(scale, global_scale), e4m3_to_float(scale)};
}

// One value of a block through NVFP4 and back: e2m1(q) * e4m3(s), without the global scale.
FP4MOE_HD float nvfp4_fake_value(float x, Nvfp4FakeScale scale) { return e2m1_round(x * scale.inv) * scale.s; }

// Fake quantization of one block, in place: x becomes e2m1(q) * e4m3(s), what its codes and scale
// stand for without the global scale. The same values as quantize_nvfp4_block then decoding, with
// no codes in between (e2m1_round).
FP4MOE_HD void fake_quantize_nvfp4_block(float (&x)[kNvfp4BlockSize], float global_scale) {
  const Nvfp4FakeScale scale = nvfp4_fake_scale(nvfp4_block_amax(x), global_scale);
  for (int i = 0; i < kNvfp4BlockSize; ++i) x[i] = nvfp4_fake_value(x[i], scale);
}

}  // namespace fp4moe
