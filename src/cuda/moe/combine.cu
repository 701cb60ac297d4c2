// One CTA per token; each thread sums four consecutive columns (16-byte loads of y).
#include "cuda/common/check.h"
#include "cuda/common/ptx.cuh"
#include "cuda/moe/combine.h"

namespace fp4moe::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxTopK = 64;

__global__ void combine_kernel(const float* y, const int* pair_rows, const float* topk_weights, int top_k, int hidden,
                               bf16* out) {
  __shared__ int rows[kMaxTopK];
  __shared__ float weights[kMaxTopK];
  ptx::grid_dependency_wait();
  ptx::launch_dependent_grids();
  const int64_t token = blockIdx.x;
  if (threadIdx.x < top_k) {
    rows[threadIdx.x] = pair_rows[token * top_k + threadIdx.x];
    weights[threadIdx.x] = topk_weights[token * top_k + threadIdx.x];
  }
  __syncthreads();
  for (int col = threadIdx.x * 4; col < hidden; col += kThreads * 4) {
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j = 0; j < top_k; ++j) {
      if (rows[j] < 0) continue;
      const float4 v = *reinterpret_cast<const float4*>(y + int64_t(rows[j]) * hidden + col);
      acc[0] += weights[j] * v.x;
      acc[1] += weights[j] * v.y;
      acc[2] += weights[j] * v.z;
      acc[3] += weights[j] * v.w;
    }
    const uint32_t lo = uint32_t(float_to_bf16(acc[0]).bits) | (uint32_t(float_to_bf16(acc[1]).bits) << 16);
    const uint32_t hi = uint32_t(float_to_bf16(acc[2]).bits) | (uint32_t(float_to_bf16(acc[3]).bits) << 16);
    *reinterpret_cast<uint2*>(out + token * hidden + col) = make_uint2(lo, hi);
  }
}

}  // namespace

void launch_combine(const float* y, const int* pair_rows, const float* topk_weights, int num_tokens, int top_k,
                    int hidden, bf16* out, const Launch& launch) {
  if (num_tokens == 0) return;
  require(top_k <= kMaxTopK, "combine", "top_k", "at most 64", top_k);
  launch_kernel(combine_kernel, unsigned(num_tokens), kThreads, 0, launch, "combine_kernel", y, pair_rows, topk_weights,
                top_k, hidden, out);
}

}  // namespace fp4moe::cuda
