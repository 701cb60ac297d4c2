// The tuning table: which GEMM kernel and tile shape runs for a batch. The choice depends only on
// host-known sizes (the per-expert counts live on the device), so a captured graph keeps it.
//
// Rows are keyed by the expected token rows per local expert, T*k/E. Measured on the H100 with
// bench/bench_moe.py (bench/results/), W4A16: qwen3-30b-a3b at 512 tokens (32 rows per expert)
// ran in 324 us with 32-token tiles and 411 us with 64-token tiles, although most of its experts
// then need two 32-token tiles: the 64-token kernel streams weights worse, so it starts above 32.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "cuda/gemm/grouped_gemm.h"
#include "fp4moe/error.h"
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
    // prefill: on Hopper two consumer warpgroups of m64n128k16 wgmma (256 rows x 128 tokens per
    // CTA) fed by a producer warpgroup through an 8-stage ring. The switch at 32 rows per expert
    // was set for the mma.sync 64-token tile; where the wgmma kernel starts to win is still to be
    // measured (bench_moe.py --gemm mma32 / wgmma128 at 512..4096 tokens).
    {1e30, {4, 2, 64, 4}, {8, 2, 128, 8, true}},
};

inline MmaTileConfig choose_gemm(int num_tokens, const MoeConfig& config, bool hopper) {
  const double rows_per_expert = double(num_tokens) * config.top_k / config.num_local_experts();
  for (const DispatchRow& row : kDispatchTable)
    if (rows_per_expert <= row.max_rows_per_expert) return hopper ? row.hopper_gemm : row.gemm;
  const DispatchRow& last = kDispatchTable[std::size(kDispatchTable) - 1];
  return hopper ? last.hopper_gemm : last.gemm;
}

// Short name of a tile shape: "mma32", "wgmma128", ...
inline std::string gemm_name(const MmaTileConfig& c) {
  return (c.wgmma ? "wgmma" : "mma") + std::to_string(c.block_tokens);
}

// FP4MOE_GEMM=<name> makes every batch use that table entry instead (benchmarks measure the
// crossovers with it); unset or empty: the table decides. An unknown name, or a wgmma kernel off
// Hopper, is an error when the layer is created.
inline std::optional<MmaTileConfig> forced_gemm_from_env(bool hopper) {
  const char* name = std::getenv("FP4MOE_GEMM");
  if (name == nullptr || *name == '\0') return std::nullopt;
  std::vector<std::string> known;  // each name once: the two columns share their decode entries
  for (const DispatchRow& row : kDispatchTable) {
    for (const MmaTileConfig& c : {row.gemm, row.hopper_gemm}) {
      if (c.wgmma && !hopper) continue;
      if (gemm_name(c) == name) return c;
      if (std::find(known.begin(), known.end(), gemm_name(c)) == known.end()) known.push_back(gemm_name(c));
    }
  }
  std::string list;
  for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
  throw_argument_error("CUDA layer", "FP4MOE_GEMM", "unset or one of: " + list, name);
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
