// The tuning table: which GEMM kernel and tile shape runs for a batch. The choice depends only on
// host-known sizes (the per-expert counts live on the device), so a captured graph keeps it.
//
// Rows are keyed by the expected token rows per local expert, r = T*k/E, and hold a column for
// sm_80+ (mma.sync) and one for Hopper (wgmma allowed). The crossovers were measured on the H100,
// W4A16, uniform routing, each kernel forced with bench_moe.py --gemm (bench/results/
// nvidia-h100-80gb-hbm3-w4a16-crossover-*.md; whole layer in us; mma8 measured at 3b7d4d9, the
// others at 39c6879, whose combine was up to 15 us slower):
//
//   rows/expert   shape                mma8   mma32   mma64   wgmma128
//   6             deepseek-v4-flash    1607    1598    2464      2965
//   8             gpt-oss-120b          974     827    1272      1760
//   8             deepseek-v3          3292    2793    4265      4297
//   16            qwen3-30b-a3b         362     188     294       439
//   32            qwen3-30b-a3b         667     265     309       444
//   64            qwen3-30b-a3b        1246     458     466       497
//   128           qwen3-30b-a3b                 826     769       672
//   16            gpt-oss-120b         1600     879    1297      1782
//   32            gpt-oss-120b         3073    1283    1340      1798
//   64            gpt-oss-120b                 2115    1982      1676
//   12            deepseek-v4-flash    2628    1701    2533      3030
//   24            deepseek-v4-flash    5225    1887    2586      3076
//   48            deepseek-v4-flash            3474    2880      3034
//   16            deepseek-v3          5412    2998    4391      4424
//   32            deepseek-v3         10252    4433    4579      4511
//   64            deepseek-v3                  7250    6734      4910
//
// So the 8-token decode tile up to 6 rows per expert (a tie with mma32 there; at 8 rows mma32 is
// 15% ahead), 32-token tiles up to 32, the 64-token mma.sync tile up to 48 (one point:
// deepseek-v4-flash, 5% ahead of wgmma), then wgmma: at 64 rows it is 15-27% ahead of the best
// mma.sync tile on gpt-oss and deepseek-v3 and 8% behind on qwen3 (K = 2048 / 768 is short for a
// 256-row CTA's pipeline).
#pragma once
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
    // decode: weight streaming, a deep pipeline (16 stages: a 1-token batch has about one CTA
    // per SM, and each CTA's K loop is a chain of round trips to DRAM, kStages - 1 of them in
    // flight), one n8 MMA column, 64-row blocks so that a few experts still fill the SMs
    {6.0, {4, 1, 8, 16}, {4, 1, 8, 16}},
    // small batches; 8 stages instead of 4 measured 5-10% slower at 512 tokens (fewer CTAs per SM)
    {32.0, {4, 2, 32, 4}, {4, 2, 32, 4}},
    {48.0, {4, 2, 64, 4}, {4, 2, 64, 4}},
    // prefill: on Hopper two consumer warpgroups of m64n128k16 wgmma (256 rows x 128 tokens per
    // CTA) fed by a producer warpgroup through an 8-stage ring
    {1e30, {4, 2, 64, 4}, {8, 2, 128, 8, true}},
};

inline MmaTileConfig choose_gemm(int num_tokens, const MoeConfig& config, bool hopper) {
  const double rows_per_expert = double(num_tokens) * config.top_k / config.num_local_experts();
  for (const DispatchRow& row : kDispatchTable)
    if (rows_per_expert <= row.max_rows_per_expert) return hopper ? row.hopper_gemm : row.gemm;
  const DispatchRow& last = kDispatchTable[std::size(kDispatchTable) - 1];
  return hopper ? last.hopper_gemm : last.gemm;
}

// Name of a tile shape: kind and token block, rows per CTA, stages ("mma8-r64-s16",
// "wgmma128-r256-s8"); unique among the compiled shapes.
inline std::string gemm_name(const MmaTileConfig& c) {
  return (c.wgmma ? "wgmma" : "mma") + std::to_string(c.block_tokens) + "-r" + std::to_string(c.block_rows()) + "-s" +
         std::to_string(c.stages);
}

// FP4MOE_GEMM=<name> makes every batch use that compiled tile shape instead of the table's choice
// (benchmarks measure the crossovers with it); unset or empty: the table decides. An unknown
// name, or a wgmma kernel off Hopper, is an error when the layer is created.
inline std::optional<MmaTileConfig> forced_gemm_from_env(bool hopper) {
  const char* name = std::getenv("FP4MOE_GEMM");
  if (name == nullptr || *name == '\0') return std::nullopt;
  std::string known;
  for (const MmaTileConfig& c : compiled_gemm_tiles()) {
    if (c.wgmma && !hopper) continue;
    if (gemm_name(c) == name) return c;
    known += (known.empty() ? "" : ", ") + gemm_name(c);
  }
  throw_argument_error("CUDA layer", "FP4MOE_GEMM", "unset or one of: " + known, name);
}

// The smallest compiled token block (a forced shape may be any of them) bounds the tile list the
// workspace must hold.
inline int min_block_tokens() {
  int m = compiled_gemm_tiles().front().block_tokens;
  for (const MmaTileConfig& c : compiled_gemm_tiles()) m = c.block_tokens < m ? c.block_tokens : m;
  return m;
}

}  // namespace fp4moe::cuda
