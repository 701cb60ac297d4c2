// One CTA per (token, 512-column slice); each thread sums four consecutive columns (16-byte loads
// of y; MoeConfig validation keeps hidden a multiple of 16). Slicing the columns matters at decode: with one CTA per token, a 1-token batch of a
// 7168-wide model ran on one SM, one load chain per thread, for 17 us (ncu, H200).
#include "cuda/common/check.h"
#include "cuda/common/ptx.cuh"
#include "cuda/moe/combine.h"

namespace fp4moe::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kColumnsPerCta = kThreads * 4;
constexpr int kMaxTopK = 64;
static_assert(kThreads >= kMaxTopK, "one thread stages each slot's row and weight");

__global__ void __launch_bounds__(kThreads) combine_kernel(const float* y, const int* pair_rows,
                                                           const float* topk_weights, int top_k, int hidden, bf16* out) {
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
  const int col = blockIdx.y * kColumnsPerCta + threadIdx.x * 4;
  if (col >= hidden) return;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  // Unrolled so that the loads of several slots are in flight together; the sum order stays j order.
#pragma unroll 8
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

}  // namespace

void launch_combine(const float* y, const int* pair_rows, const float* topk_weights, int num_tokens, int top_k,
                    int hidden, bf16* out, const Launch& launch) {
  if (num_tokens == 0) return;
  require(top_k <= kMaxTopK, "combine", "top_k", "at most 64", top_k);
  const dim3 grid(unsigned(num_tokens), unsigned((hidden + kColumnsPerCta - 1) / kColumnsPerCta));
  launch_kernel(combine_kernel, grid, kThreads, 0, launch, "combine_kernel", y, pair_rows, topk_weights, top_k, hidden,
                out);
}

}  // namespace fp4moe::cuda
