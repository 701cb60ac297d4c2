// Vector loads and stores of 16-element NVFP4 blocks and the order-independent amax update.
#pragma once
#include <cuda_bf16.h>

#include "fp4moe/format/bf16.h"
#include "fp4moe/format/hd.h"
#include "fp4moe/format/nvfp4.h"

namespace fp4moe::cuda {

// kFromL2: the loads bypass L1 (ld.global.cg), for data a kernel reads before its wait for the kernel
// before it: an SM's L1 may hold an earlier forward's lines of it (as in routing/sorted_rows.cu).
template <bool kFromL2 = false>
__device__ __forceinline__ void load_bf16x8(const bf16* src, float (&out)[8]) {
  const uint4* vector = reinterpret_cast<const uint4*>(src);
  const uint4 v = kFromL2 ? __ldcg(vector) : *vector;
  const uint32_t words[4] = {v.x, v.y, v.z, v.w};
  for (int i = 0; i < 4; ++i) {
    out[2 * i] = bits_to_float(words[i] << 16);
    out[2 * i + 1] = bits_to_float(words[i] & 0xFFFF0000u);
  }
}

template <bool kFromL2 = false>
__device__ __forceinline__ void load_block(const bf16* src, float (&out)[16]) {
  float lo[8], hi[8];
  load_bf16x8<kFromL2>(src, lo);
  load_bf16x8<kFromL2>(src + 8, hi);
  for (int i = 0; i < 8; ++i) {
    out[i] = lo[i];
    out[8 + i] = hi[i];
  }
}

template <bool kFromL2 = false>
__device__ __forceinline__ void load_block(const float* src, float (&out)[16]) {
  for (int i = 0; i < 4; ++i) {
    const float4* vector = reinterpret_cast<const float4*>(src) + i;
    const float4 v = kFromL2 ? __ldcg(vector) : *vector;
    out[4 * i] = v.x;
    out[4 * i + 1] = v.y;
    out[4 * i + 2] = v.z;
    out[4 * i + 3] = v.w;
  }
}

__device__ __forceinline__ void store_bytes8(uint8_t* dst, const uint8_t (&bytes)[8]) {
  uint2 v;
  memcpy(&v, bytes, 8);
  *reinterpret_cast<uint2*>(dst) = v;
}

// Writes 16 values as BF16 (format/bf16.h's rounding; fake-quantized values are exact in BF16:
// at most 6 significant bits).
__device__ __forceinline__ void store_bf16_block(const float (&v)[kNvfp4BlockSize], bf16* dst) {
  uint32_t words[8];
  for (int i = 0; i < 8; ++i)
    words[i] = pack_bf16x2(v[2 * i], v[2 * i + 1]);
  uint4* out = reinterpret_cast<uint4*>(dst);
  out[0] = make_uint4(words[0], words[1], words[2], words[3]);
  out[1] = make_uint4(words[4], words[5], words[6], words[7]);
}

// amax over the warp, then one atomicMax on the FP32 bits of |x| (as unsigned, non-negative
// floats order like their bits, and a NaN's bits exceed Inf's, so NaN wins and shows).
__device__ __forceinline__ void atomic_max_abs(uint32_t* amax_bits, float local_abs_max) {
  for (int offset = 16; offset > 0; offset /= 2)
    local_abs_max = nan_max(local_abs_max, __shfl_xor_sync(0xFFFFFFFFu, local_abs_max, offset));
  if (threadIdx.x % 32 == 0) atomicMax(amax_bits, float_to_bits(local_abs_max) & 0x7FFFFFFFu);
}

}  // namespace fp4moe::cuda
