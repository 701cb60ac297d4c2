// The Marlin peer's token alignment: vLLM's moe_align_block_size kernels (cut from its source by build.py),
// launched as its torch op launches them when there is no expert map.
#include "moe_align_kernels.cuh"
#include "peer_marlin.h"
#include "peer_marlin_error.h"

#include <algorithm>
#include <stdexcept>
#include <string>

extern "C" {

int peer_marlin_sorted_len(int routed_rows, int experts, int block) {
  // moe_align_block_size's max_num_tokens_padded: every expert may waste block - 1 rows of padding.
  long long padded = static_cast<long long>(routed_rows) + static_cast<long long>(experts) * (block - 1);
  if (routed_rows < experts) padded = std::min(padded, static_cast<long long>(routed_rows) * block);
  return static_cast<int>(padded);
}

int peer_marlin_align(const int* topk_ids, int routed_rows, int top_k, int experts, int block, int* sorted_ids,
                      int sorted_len, int* block_experts, int* rows_padded, int* cumsum, cudaStream_t stream) {
  return peer_marlin::guarded("peer_marlin_align", [&] {
    const int padded_experts = (experts + WARP_SIZE - 1) / WARP_SIZE * WARP_SIZE;
    if (experts <= 0 || padded_experts >= 1024)
      throw std::invalid_argument("experts = " + std::to_string(experts) + ": expected 1..992");
    if (routed_rows <= 0 || top_k <= 0 || block <= 0)
      throw std::invalid_argument("routed_rows, top_k and block must be positive");
    // vLLM takes a one-block kernel when routed_rows < 1024 and experts <= 64; none of the benchmark shapes
    // has that few experts, so the peer always runs the two-kernel path that they take in vLLM.
    const size_t counts_bytes = CEILDIV(padded_experts, WARP_SIZE) * WARP_SIZE * sizeof(int32_t);
    vllm::moe::moe_align_block_size_kernel<int32_t><<<2, 1024, counts_bytes, stream>>>(
        topk_ids, sorted_ids, block_experts, rows_padded, /*expert_map=*/nullptr, experts, padded_experts,
        WARP_SIZE, block, static_cast<size_t>(routed_rows), cumsum, sorted_len, top_k, /*has_expert_map=*/false);
    const int threads = 256;
    const dim3 grid(1, std::min((routed_rows + threads - 1) / threads, 65535));
    vllm::moe::count_and_sort_expert_tokens_kernel<int32_t><<<grid, threads, 0, stream>>>(
        topk_ids, sorted_ids, cumsum, /*expert_map=*/nullptr, static_cast<size_t>(routed_rows), experts,
        sorted_len, top_k, /*has_expert_map=*/false, /*scatter_idx=*/nullptr);
  });
}

}  // extern "C"
