// The weighted combine of four consecutive columns of one token, shared by the combine kernel and
// the decode kernels' last CTA of each row block (gemm/decode_gemm.cu): FP32 sums over the
// token's slots in slot order (no atomics, so deterministic), rounded to BF16 once.
#pragma once
#include <cuda_runtime.h>

#include "cuda/moe/combine.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::cuda {

// out[col .. col+3] = bf16(sum over slots j of weights[j] * y[rows[j]][col ..]), slots with row -1
// skipped; rows and weights are the token's top_k slots, y is [rows][hidden] FP32 with col a
// multiple of 4 inside it (16-byte loads). y is read from L2 (ld.cg): the decode kernels sum rows
// that other CTAs of the same kernel wrote. Where GEMM 2 split its K, each slot's value is y's plus
// the later slices' (`slices`), in slice order, before its weight.
__device__ __forceinline__ void combine_four_columns(const float* y, const int* rows, const float* weights, int top_k,
                                                     int hidden, int col, bf16* out, const YSlices& slices = {}) {
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  // Unrolled so that the loads of several slots are in flight together; the sum order stays j order.
#pragma unroll 8
  for (int j = 0; j < top_k; ++j) {
    if (rows[j] < 0) continue;
    float4 v = __ldcg(reinterpret_cast<const float4*>(y + int64_t(rows[j]) * hidden + col));
    for (int s = 0; s < slices.count; ++s) {  // GEMM 2's later K slices, in slice order
      const float* y_s = slices.first + s * slices.stride;
      const float4 u = __ldcg(reinterpret_cast<const float4*>(y_s + int64_t(rows[j]) * hidden + col));
      v = make_float4(v.x + u.x, v.y + u.y, v.z + u.z, v.w + u.w);
    }
    acc[0] += weights[j] * v.x;
    acc[1] += weights[j] * v.y;
    acc[2] += weights[j] * v.z;
    acc[3] += weights[j] * v.w;
  }
  *reinterpret_cast<uint2*>(out + col) = make_uint2(pack_bf16x2(acc[0], acc[1]), pack_bf16x2(acc[2], acc[3]));
}

}  // namespace fp4moe::cuda
