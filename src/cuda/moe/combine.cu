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

// After its sums each thread has read its 16 bytes of every slot's row (and of the slices'); eight
// neighbouring lanes read one 128-byte line of a row, and once all eight have, the first discards it.
__device__ void discard_read_lines(const float* y, const int* rows, int top_k, int hidden, int col,
                                   const YSlices& slices, uint32_t lanes) {
  __syncwarp(lanes);  // orders the group's loads before the discards
  if (threadIdx.x % 8 != 0) return;
  for (int j = 0; j < top_k; ++j) {
    if (rows[j] < 0) continue;
    const int64_t at = int64_t(rows[j]) * hidden + col;
    ptx::discard_l2_line(y + at);
    for (int s = 0; s < slices.count; ++s) ptx::discard_l2_line(slices.first + s * slices.stride + at);
  }
}

// The token's rows and weights are read before the wait for GEMM 2, so that only the loads of y
// follow it: every GEMM 2 launch starts after the routing plan has ended (it waits for the plan, or
// follows a kernel that did, before it lets this kernel launch), and the weights are the caller's,
// in place before the plan started. Both are read from L2 (ld.cg): the SM's L1 may hold an earlier
// forward's. The next forward's plan waits for this kernel before it writes the rows again.
// kDiscardY: the kernel also drops y's lines from L2 once read (launch_combine's discard_y). Two
// kernels rather than a run-time flag: compiled in, the discard's ballot and the rows it keeps live
// took the plain kernel from 56 to 70 registers (9 to 7 CTAs a SM) and made it up to 4.9% slower at
// 4096-16384 tokens (H100; as two kernels 0.960-1.003 of the flag's: bench/results/h100-combine-forms).
template <bool kDiscardY>
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
  // The lanes past hidden leave first; a discard waits for the rest of its line's group (whole lines:
  // all eight lanes or none).
  uint32_t lanes = 0;
  if constexpr (kDiscardY) lanes = __ballot_sync(0xFFFFFFFFu, col < hidden);
  if (col >= hidden) return;
  combine_four_columns(y, rows, weights, top_k, hidden, col, out + token * hidden, slices);
  if constexpr (kDiscardY) discard_read_lines(y, rows, top_k, hidden, col, slices, lanes);
}

}  // namespace

bool combine_can_discard(const float* y, int hidden, const YSlices& slices) {
  return ptx::rows_are_whole_l2_lines(y, hidden) &&
         (slices.count == 0 || ptx::rows_are_whole_l2_lines(slices.first, slices.stride));
}

void launch_combine(const float* y, const int* pair_rows, const float* topk_weights, int num_tokens, int top_k,
                    int hidden, bf16* out, const Launch& launch, const YSlices& slices, bool discard_y) {
  if (num_tokens == 0) return;
  require(top_k <= kTokenKernelMaxTopK, "combine", "top_k", "at most " + std::to_string(kTokenKernelMaxTopK), top_k);
  require(!discard_y || combine_can_discard(y, hidden, slices), "combine", "discard_y",
          "only where y's rows are whole aligned 128-byte lines (combine_can_discard)", "y or hidden unaligned");
  const dim3 grid(unsigned(num_tokens), unsigned((hidden + kColumnsPerCta - 1) / kColumnsPerCta));
  launch_kernel(discard_y ? combine_kernel<true> : combine_kernel<false>, grid, kThreads, 0, launch, "combine_kernel",
                y, pair_rows, topk_weights, top_k, hidden, out, slices);
}

}  // namespace fp4moe::cuda
