// NVFP4 -> BF16 in registers, exactly. An E2M1 code times its E4M3 block scale has at most 6
// significant bits, so the BF16 product is exact and BF16 tensor cores lose nothing; the FP32
// global scales are applied later, in the epilogue.
//
// To keep the work per register to two or three integer ops and one multiply, both factors carry a
// power-of-two bias: a code becomes c * 2^-126 and a scale s * 2^115 (format/weight_encoding.h
// says how the load-time encodings make that cheap), so each dequantized weight is c * s * 2^-11:
// exact, well inside BF16's normal range, and undone exactly by the epilogue (kDequantBias).
#pragma once
#include <cuda_bf16.h>

#include "cuda/common/ptx.cuh"
#include "cuda/format/weight_encoding.h"

namespace fp4moe::cuda {

// Dequantized weights are the true c * s times 2^-kDequantBiasLog2; epilogues multiply by kDequantBias.
inline constexpr int kDequantBiasLog2 = 11;
inline constexpr float kDequantBias = float(1 << kDequantBiasLog2);

__device__ __forceinline__ uint32_t bf16x2_bits(__nv_bfloat162 v) { return *reinterpret_cast<uint32_t*>(&v); }
__device__ __forceinline__ __nv_bfloat162 as_bf16x2(uint32_t bits) { return *reinterpret_cast<__nv_bfloat162*>(&bits); }

// Register r (0..3) of an encoded step word (format/weight_encoding.h) -> bf16x2 of two codes,
// each c * 2^-126 (magnitudes at bits [8:6]/[24:22], signs at 15/31; e == 0 codes land on BF16
// subnormals, which the BF16 multiply below handles exactly).
template <int kRegister>
__device__ __forceinline__ __nv_bfloat162 e2m1x2_biased(uint32_t word) {
  if constexpr (kRegister < 3) {
    // A rotate only where bits wrapped around land in the mask; a plain shift may issue on the FMA pipe.
    constexpr int s = register_rotation(kRegister);
    constexpr bool kWrapsIntoMask = s > 0 && (kRegisterMask & ((1u << s) - 1)) != 0;
    return as_bf16x2((kWrapsIntoMask ? __funnelshift_l(word, word, s) : word << s) & kRegisterMask);
  } else {
    return as_bf16x2(((word << 2) & kReg3UpMask) | ((word >> 6) & kReg3DownMask));
  }
}

// Encoded scale byte `kByte` of `scales` -> bf16x2 {s, s} * 2^115 (weight_encoding.h). Bytes
// 0-1 and 2-3 are decoded in pairs, one BF16 each half ({s0, s1} from one PRMT and one IMAD),
// and each step takes its half broadcast: the pair's two PRMT+IMAD serve two k16 steps (the
// compiler shares them), and the broadcast is an operand swizzle of the HMUL2 that uses it.
template <int kByte>
__device__ __forceinline__ __nv_bfloat162 scale_biased_bf16x2(uint32_t scales) {
  const uint32_t pair = ptx::byte_perm(scales, 0u, kByte < 2 ? 0x4140u : 0x4342u);  // {byte lo, 0, byte hi, 0}
  const __nv_bfloat162 both = as_bf16x2(pair * 0x10u + (kScaleBiasBits | kScaleBiasBits << 16));
  return kByte % 2 == 0 ? __low2bfloat162(both) : __high2bfloat162(both);
}

// The four A-fragment registers of k16 step kStep: the step's encoded word and the step's scales
// of rows g (scales_lo) and g+8 (scales_hi), 4 steps per scale word.
template <int kStep>
__device__ __forceinline__ void dequant_a_fragment(uint32_t word, uint32_t scales_lo, uint32_t scales_hi,
                                                   uint32_t (&a)[4]) {
  const __nv_bfloat162 lo = scale_biased_bf16x2<kStep>(scales_lo), hi = scale_biased_bf16x2<kStep>(scales_hi);
  a[0] = bf16x2_bits(__hmul2(e2m1x2_biased<0>(word), lo));  // row g,   k c
  a[1] = bf16x2_bits(__hmul2(e2m1x2_biased<1>(word), hi));  // row g+8, k c
  a[2] = bf16x2_bits(__hmul2(e2m1x2_biased<2>(word), lo));  // row g,   k c+8
  a[3] = bf16x2_bits(__hmul2(e2m1x2_biased<3>(word), hi));  // row g+8, k c+8
}

}  // namespace fp4moe::cuda
