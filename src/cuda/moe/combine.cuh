// The weighted combine of four consecutive columns of one token, shared by the combine kernel and
// the decode kernels' last CTA of each row block (gemm/decode_gemm.cu): FP32 sums over the
// token's slots in slot order (no atomics, so deterministic), rounded to BF16 once.
#pragma once
#include <cuda_runtime.h>

#include "cuda/moe/combine.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::cuda {

// A thread reads this many slots' rows of y before it sums the first: the combine is bound by reading
// y, and a loop that summed each slot before loading the next kept one 16-byte load in flight a thread.
inline constexpr int kCombineSlotsInFlight = 8;

// Row `row` of y at column col as 16 bytes, read from L2 (ld.cg): the decode kernels sum rows that other
// CTAs of the same kernel wrote.
__device__ __forceinline__ float4 load_y4(const float* y, int row, int hidden, int col) {
  return __ldcg(reinterpret_cast<const float4*>(y + int64_t(row) * hidden + col));
}

__device__ __forceinline__ float4 add4(float4 a, float4 b) {
  return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
}

// out[col .. col+3] = bf16(sum over slots j of weights[j] * y[rows[j]][col ..]), slots with row -1
// skipped; rows and weights are the token's top_k slots, y is [rows][hidden] FP32 with col a
// multiple of 4 inside it (16-byte loads). Where GEMM 2 split its K, each slot's value is y's plus
// the later slices' (`slices`), in slice order, before its weight. The sums are in slot order
// whatever the grouping of the loads.
__device__ __forceinline__ void combine_four_columns(const float* y, const int* rows, const float* weights, int top_k,
                                                     int hidden, int col, bf16* out, const YSlices& slices = {}) {
  float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  for (int first = 0; first < top_k; first += kCombineSlotsInFlight) {
    int row[kCombineSlotsInFlight];
    float4 value[kCombineSlotsInFlight];
#pragma unroll
    for (int i = 0; i < kCombineSlotsInFlight; ++i) {
      row[i] = first + i < top_k ? rows[first + i] : -1;
      value[i] = row[i] < 0 ? make_float4(0.0f, 0.0f, 0.0f, 0.0f) : load_y4(y, row[i], hidden, col);
    }
    for (int s = 0; s < slices.count; ++s) {  // GEMM 2's later K slices, in slice order
      const float* y_s = slices.first + s * slices.stride;
#pragma unroll
      for (int i = 0; i < kCombineSlotsInFlight; ++i)
        if (row[i] >= 0) value[i] = add4(value[i], load_y4(y_s, row[i], hidden, col));
    }
#pragma unroll
    for (int i = 0; i < kCombineSlotsInFlight; ++i) {
      if (row[i] < 0) continue;
      const float w = weights[first + i];
      acc = make_float4(acc.x + w * value[i].x, acc.y + w * value[i].y, acc.z + w * value[i].z,
                        acc.w + w * value[i].w);
    }
  }
  *reinterpret_cast<uint2*>(out + col) = make_uint2(pack_bf16x2(acc.x, acc.y), pack_bf16x2(acc.z, acc.w));
}

}  // namespace fp4moe::cuda
