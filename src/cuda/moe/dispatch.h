// The tuning table: which GEMM kernel and tile shape runs for a batch. The choice depends only on
// host-known sizes (the per-expert counts live on the device), so a captured graph keeps it.
//
// Rows are keyed by the expected token rows per local expert, r = T*k/E, and hold a column for
// sm_80+ (mma.sync) and one for Hopper (wgmma allowed). Every crossover below was measured with
// each kernel forced (bench_moe.py --gemm), W4A16, uniform routing, whole layer in us.
//
// Decode and small batches, on the H200 (bench/results/nvidia-h200-w4a16-crossover-t*.md; code
// c7567de with the extra shapes compiled in for the sweep, whose names then lacked the -w field):
//
//   T     rows/expert (qwen3 gpt-oss dsv4 dsv3)   mma8-r64-w4-s16 / -s8 / -s4, per shape
//   1     0.06  0.03  0.02  0.03                   24.7/23.6/32.8  46.2/49.4/79.7  48.7/53.6/72.0  84.8/83.4/97.3
//   2     0.13  0.06  0.05  0.06                   27.7/29.8/35.5  63.3/73.9/92.6  80.7/76.1/89.9  158/144/145
//   4     0.25  0.13  0.09  0.13                   47.0/40.2/44.9  99.0/87.2/113   141/124/125     297/264/264
//   8     0.5   0.25  0.19  0.25                   72.3/59.8/59.6  164/142/150     239/205/204     511/445/444
//   64    4     2     1.5   2                      160/130/126     615/523/543     1022/876/908    1966/1821/1750
//
//   T     shape               rows/expert   mma8-r64-w4-s8  mma16-r128-w4-s4  mma32-r64-w4-s4  mma32-r128-w4-s4
//   128   qwen3-30b-a3b       8                        183               134              206               177
//   256   qwen3-30b-a3b       16                       301               188              214               184
//   512   qwen3-30b-a3b       32                       538               312              309               265
//   128   gpt-oss-120b        4                        603               603              938               800
//   256   gpt-oss-120b        8                        843               621              936               802
//   512   gpt-oss-120b        16                      1356               826              971               827
//   128   deepseek-v4-flash   3                       1133              1081             1759              1476
//   256   deepseek-v4-flash   6                       1389              1229             1852              1568
//   512   deepseek-v4-flash   12                      2263              1340             1939              1600
//   128   deepseek-v3         4                       1959              1954             3184              2667
//   256   deepseek-v3         8                       2909              2159             3216              2722
//   512   deepseek-v3         16                      4902              3070             3386              2899
//
// So the 8-token tile with 16 stages at one token (a 1-token batch has about one CTA per SM, and
// each CTA's K loop is a chain of round trips to DRAM, kStages - 1 of them in flight; it wins on 3
// of 4 shapes at T=1 and on 2 of 4 at T=2); with 8 stages from there (twice the CTAs per SM: 10-17%
// faster at T=8 and T=64; 4 stages gain no more); the 16-token tile from 3 rows per expert (it ties
// the 8-token one at 4 rows and wins by 5% at 3; below 3 rows it was not measured) to 14 (it wins by
// 16% at 12 rows, and at 16 rows it ties or loses by 6% to the 32-token tile, as an expert's rows
// then often spill into a second 16-row tile that streams the weights again); 32-token tiles of
// 128 rows up to 32. Eight warps of one m-tile each instead of four of two (same CTA tile, more
// warps per SM) were 4-14% slower for both the 16- and the 32-token tile at 256 and 512 tokens
// (the crossover-t256-512 files).
//
// Larger batches, on the H100 (bench/results/nvidia-h100-80gb-hbm3-w4a16-crossover-*.md, code
// 39c6879): the 64-token mma.sync tile up to 48 rows per expert (deepseek-v4-flash, 2880 us against
// 3474 for mma32 and 3034 for wgmma), then wgmma: at 64 rows it is 15-27% ahead of the best
// mma.sync tile on gpt-oss and deepseek-v3 (gpt-oss 1676 against 1982, deepseek-v3 4910 against
// 6734) and 8% behind on qwen3 (497 against 458; K = 2048 / 768 is short for a 256-row CTA's
// pipeline).
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
    // decode: weight streaming, one n8 MMA column, 64-row blocks so that a few experts still fill
    // the SMs; a 16-stage pipeline for the handful of CTAs of a 1-token batch, 8 stages beyond
    {0.07, {4, 1, 8, 16}, {4, 1, 8, 16}},
    {3.0, {4, 1, 8, 8}, {4, 1, 8, 8}},
    // small batches: 128-row blocks; for the 32-token tile 8 stages instead of 4 measured 5-10%
    // slower at 512 tokens (H100: fewer CTAs per SM)
    {14.0, {4, 2, 16, 4}, {4, 2, 16, 4}},
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

// Name of a tile shape: kind and token block, rows per CTA, MMA warps, stages
// ("mma8-r64-w4-s16", "wgmma128-r256-w8-s8"); these four fields tell every compiled shape apart.
inline std::string gemm_name(const MmaTileConfig& c) {
  return (c.wgmma ? "wgmma" : "mma") + std::to_string(c.block_tokens) + "-r" + std::to_string(c.block_rows()) + "-w" +
         std::to_string(c.warps) + "-s" + std::to_string(c.stages);
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
