// One CTA per (token, slice of kSliceChunks 16-byte chunks of its row): each thread loads its chunks
// of the token's row of x once and stores them to every sorted row of the token's local pairs
// (plan.pair_rows), so x is read once and the k rows' stores follow one load.
#include <string>

#include "cuda/common/check.h"
#include "cuda/common/ptx.cuh"
#include "cuda/routing/sorted_rows.h"

namespace fp4moe::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kChunksPerThread = 4;
constexpr int kSliceChunks = kThreads * kChunksPerThread;  // 8 KB of a row per CTA
static_assert(kThreads >= kTokenKernelMaxTopK, "one thread reads each slot's sorted row");

// x_is_input: x is the caller's hidden states, in place before the forward began, so the loads may
// go before the wait for the plan (W4A16); otherwise (W4A4's quantized x) after it. x is read from L2
// (ld.cg) either way: before the wait an SM's L1 may hold an earlier forward's lines of it (as in
// moe/combine.cu), and each chunk is read once, so L1 would buy nothing after it.
__global__ void __launch_bounds__(kThreads)
    gather_sorted_rows_kernel(const uint4* __restrict__ x, bool x_is_input, const int* __restrict__ pair_rows,
                              int top_k, int64_t chunks_per_row, uint4* __restrict__ out) {
  __shared__ int rows[kTokenKernelMaxTopK];
  const int64_t token = blockIdx.x, first = int64_t(blockIdx.y) * kSliceChunks + threadIdx.x;
  const uint4* src = x + token * chunks_per_row;
  uint4 v[kChunksPerThread];
  const auto load = [&] {
#pragma unroll
    for (int i = 0; i < kChunksPerThread; ++i) {
      const int64_t c = first + i * kThreads;
      if (c < chunks_per_row) v[i] = __ldcg(src + c);
    }
  };
  if (x_is_input) load();
  ptx::wait_for_predecessor();  // the plan's rows (and, in W4A4, x's quantization)
  if (!x_is_input) load();
  if (threadIdx.x < top_k) rows[threadIdx.x] = pair_rows[token * top_k + threadIdx.x];
  __syncthreads();
  for (int slot = 0; slot < top_k; ++slot) {
    const int row = rows[slot];
    if (row < 0) continue;  // dropped, or another rank's expert
    uint4* dst = out + int64_t(row) * chunks_per_row;
#pragma unroll
    for (int i = 0; i < kChunksPerThread; ++i) {
      const int64_t c = first + i * kThreads;
      if (c < chunks_per_row) dst[c] = v[i];
    }
  }
}

}  // namespace

void launch_gather_sorted_rows(const bf16* x, bool x_is_input, int num_tokens, int top_k, int64_t hidden,
                               const RoutingPlan& plan, bf16* out, const Launch& launch) {
  if (num_tokens == 0) return;
  require(hidden % 8 == 0, "gather sorted rows", "hidden", "a multiple of 8", hidden);
  require(top_k >= 1 && top_k <= kTokenKernelMaxTopK, "gather sorted rows", "top_k",
          "1.." + std::to_string(kTokenKernelMaxTopK), top_k);
  const int64_t chunks = hidden / 8;
  const dim3 grid(unsigned(num_tokens), unsigned(ceil_div(chunks, int64_t(kSliceChunks))));
  launch_kernel(gather_sorted_rows_kernel, grid, kThreads, 0, launch, "gather_sorted_rows_kernel",
                reinterpret_cast<const uint4*>(x), x_is_input, static_cast<const int*>(plan.pair_rows), top_k, chunks,
                reinterpret_cast<uint4*>(out));
}

}  // namespace fp4moe::cuda
