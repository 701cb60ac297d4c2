// The tuning table: which GEMM kernel and tile shape runs for a batch. The choice depends only on
// host-known sizes (the per-expert counts live on the device), so a captured graph keeps it.
//
// Rows are keyed by the expected token rows per local expert, T*k/E. Measured on the H100 with
// bench/bench_moe.py (bench/results/), W4A16: qwen3-30b-a3b at 512 tokens (32 rows per expert)
// ran in 324 us with 32-token tiles and 411 us with 64-token tiles, although most of its experts
// then need two 32-token tiles: the 64-token kernel streams weights worse, so it starts above 32.
#pragma once
#include <iterator>

#include "cuda/gemm/grouped_gemm.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::cuda {

struct DispatchRow {
  double max_rows_per_expert;  // this row applies up to here
  MmaTileConfig gemm;
  MmaTileConfig hopper_gemm;  // the choice on sm_90 (wgmma kernels need it)
};

inline constexpr DispatchRow kDispatchTable[] = {
    // decode: weight streaming, a deep pipeline, one n8 MMA column, 64-row blocks so that a few
    // experts still fill the SMs
    {8.0, {4, 1, 8, 8}, {4, 1, 8, 8}},
    {32.0, {4, 2, 32, 4}, {4, 2, 32, 4}},  // small batches
    // prefill: on Hopper two warpgroups of m64n128k16 wgmma, 128 rows x 128 tokens per CTA
    {1e30, {4, 2, 64, 4}, {8, 1, 128, 5, true}},
};

inline MmaTileConfig choose_gemm(int num_tokens, const MoeConfig& config, bool hopper) {
  const double rows_per_expert = double(num_tokens) * config.top_k / config.num_local_experts();
  for (const DispatchRow& row : kDispatchTable)
    if (rows_per_expert <= row.max_rows_per_expert) return hopper ? row.hopper_gemm : row.gemm;
  const DispatchRow& last = kDispatchTable[std::size(kDispatchTable) - 1];
  return hopper ? last.hopper_gemm : last.gemm;
}

// The smallest token block in the table bounds the tile list the workspace must hold.
inline int min_block_tokens() {
  int m = kDispatchTable[0].gemm.block_tokens;
  for (const DispatchRow& row : kDispatchTable) {
    m = row.gemm.block_tokens < m ? row.gemm.block_tokens : m;
    m = row.hopper_gemm.block_tokens < m ? row.hopper_gemm.block_tokens : m;
  }
  return m;
}

}  // namespace fp4moe::cuda
