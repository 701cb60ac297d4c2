// BF16 as 16 raw bits, with exact conversions usable on host and device. The public API uses
// this type for every BF16 buffer; device code reinterprets it as __nv_bfloat16 (same layout).
#pragma once
#include "fp4moe/format/hd.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#endif

namespace fp4moe {

struct bf16 {
  uint16_t bits;
};
static_assert(sizeof(bf16) == 2, "bf16 must be 2 bytes to alias __nv_bfloat16");

FP4MOE_HD float bf16_to_float(bf16 v) { return bits_to_float(uint32_t(v.bits) << 16); }

// Round to nearest even; NaN stays NaN (quietened), never rounds into Inf.
FP4MOE_HD bf16 float_to_bf16(float f) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  // One F2FP instruction instead of six integer ops; the same rounding (a NaN keeps its sign but
  // not its payload).
  return bf16{__bfloat16_as_ushort(__float2bfloat16_rn(f))};
#endif
  uint32_t u = float_to_bits(f);
  if (is_nan(f)) return bf16{uint16_t((u >> 16) | 0x0040u)};
  u += 0x7FFFu + ((u >> 16) & 1u);
  return bf16{uint16_t(u >> 16)};
}

// Two values rounded to BF16 in one 32-bit word, lo in the low half (memory order of [lo, hi]).
FP4MOE_HD uint32_t pack_bf16x2(float lo, float hi) {
  return uint32_t(float_to_bf16(lo).bits) | (uint32_t(float_to_bf16(hi).bits) << 16);
}

}  // namespace fp4moe
