// One CTA per (token, 512-column slice); each thread sums four consecutive columns (combine.cuh;
// MoeConfig validation keeps hidden a multiple of 16). Slicing the columns matters at decode: with
// one CTA per token, a 1-token batch of a 7168-wide model ran on one SM, one load chain per
// thread, for 17 us (ncu, H200).
#include <string>

#include "cuda/common/check.h"
#include "cuda/common/ptx.cuh"
#include "cuda/moe/combine.h"
#include "cuda/moe/combine.cuh"
#include "cuda/routing/plan.h"

namespace fp4moe::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kColumnsPerCta = kThreads * 4;
static_assert(kThreads >= kTokenKernelMaxTopK, "one thread stages each slot's row and weight");

// The token's rows and weights are read before the wait for GEMM 2, so that only the loads of y
// follow it: every GEMM 2 launch starts after the routing plan has ended (it waits for the plan, or
// follows a kernel that did, before it lets this kernel launch), and the weights are the caller's,
// in place before the plan started. Both are read from L2 (ld.cg): the SM's L1 may hold an earlier
// forward's. The next forward's plan waits for this kernel before it writes the rows again.
__global__ void __launch_bounds__(kThreads) combine_kernel(const float* y, const int* pair_rows,
                                                           const float* topk_weights, int top_k, int hidden, bf16* out,
                                                           YSlices slices) {
  __shared__ int rows[kTokenKernelMaxTopK];
  __shared__ float weights[kTokenKernelMaxTopK];
  const int64_t token = blockIdx.x;
  if (threadIdx.x < top_k) {
    rows[threadIdx.x] = __ldcg(pair_rows + token * top_k + threadIdx.x);
    weights[threadIdx.x] = __ldcg(topk_weights + token * top_k + threadIdx.x);
  }
  ptx::wait_for_predecessor();  // the rows of y
  __syncthreads();
  const int col = blockIdx.y * kColumnsPerCta + threadIdx.x * 4;
  if (col >= hidden) return;
  combine_four_columns(y, rows, weights, top_k, hidden, col, out + token * hidden, slices);
}

}  // namespace

void launch_combine(const float* y, const int* pair_rows, const float* topk_weights, int num_tokens, int top_k,
                    int hidden, bf16* out, const Launch& launch, const YSlices& slices) {
  if (num_tokens == 0) return;
  require(top_k <= kTokenKernelMaxTopK, "combine", "top_k", "at most " + std::to_string(kTokenKernelMaxTopK), top_k);
  const dim3 grid(unsigned(num_tokens), unsigned((hidden + kColumnsPerCta - 1) / kColumnsPerCta));
  launch_kernel(combine_kernel, grid, kThreads, 0, launch, "combine_kernel", y, pair_rows, topk_weights, top_k, hidden,
                out, slices);
}

}  // namespace fp4moe::cuda
