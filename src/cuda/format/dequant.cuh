// NVFP4 -> BF16 in registers, exactly. An E2M1 code times its E4M3 block scale has at most 6
// significant bits and an exponent well inside BF16's range, so the BF16 product is exact and
// BF16 tensor cores lose nothing; the FP32 global scales are applied later, in the epilogue.
#pragma once
#include <cuda_bf16.h>

#include "cuda/common/ptx.cuh"
#include "fp4moe/format/nvfp4.h"

namespace fp4moe::cuda {

__device__ __forceinline__ uint32_t bf16x2_bits(__nv_bfloat162 v) { return *reinterpret_cast<uint32_t*>(&v); }
__device__ __forceinline__ __nv_bfloat162 as_bf16x2(uint32_t bits) { return *reinterpret_cast<__nv_bfloat162*>(&bits); }

// Byte `kByte` of `packed` (two E2M1 codes) -> bf16x2 {low nibble, high nibble}.
// The 3 magnitude bits go to BF16 bits [8:6] (exponent field e, mantissa msb m) and the sign to
// bit 15: that is e2m1(q) * 2^-126 for every code (e == 0 lands on BF16 subnormals), so one
// multiply by 2^126 gives the exact value.
template <int kByte>
__device__ __forceinline__ __nv_bfloat162 e2m1x2_to_bf16x2(uint32_t packed) {
  const uint32_t x = ptx::byte_perm(packed, 0u, 0x4440u | kByte);  // byte kByte, zeros above
  const uint32_t y = x * 0x1001u;                                   // x | x << 12: no overlap
  const uint32_t bits = ((y << 6) & 0x01C001C0u) | ((y << 12) & 0x80008000u);
  const __nv_bfloat162 two_pow_126 = as_bf16x2(0x7E807E80u);
  return __hmul2(as_bf16x2(bits), two_pow_126);
}

// An E4M3 scale byte -> bf16x2 {s, s} (exact: E4M3 values are BF16 values).
__device__ __forceinline__ __nv_bfloat162 e4m3_to_bf16x2(uint32_t scale_byte) {
  return __float2bfloat162_rn(e4m3_to_float(uint8_t(scale_byte)));
}

// Four A-fragment registers of one m16n8k16 step from 4 packed bytes and the two row scales.
// Byte order (fixed by the weight repack): {row g, k c}, {row g+8, k c}, {row g, k c+8},
// {row g+8, k c+8}, each holding the two consecutive-K elements of one register.
__device__ __forceinline__ void dequant_a_fragment(uint32_t packed, __nv_bfloat162 scale_lo, __nv_bfloat162 scale_hi,
                                                   uint32_t (&a)[4]) {
  a[0] = bf16x2_bits(__hmul2(e2m1x2_to_bf16x2<0>(packed), scale_lo));
  a[1] = bf16x2_bits(__hmul2(e2m1x2_to_bf16x2<1>(packed), scale_hi));
  a[2] = bf16x2_bits(__hmul2(e2m1x2_to_bf16x2<2>(packed), scale_lo));
  a[3] = bf16x2_bits(__hmul2(e2m1x2_to_bf16x2<3>(packed), scale_hi));
}

}  // namespace fp4moe::cuda
