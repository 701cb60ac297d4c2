// The routing plan: top-k ids in, tokens grouped by local expert out, all on the device.
// Pairs (token t, slot j) are numbered p = t*k + j. Within an expert, pairs keep their order
// (stable), so the plan and everything computed from it is deterministic.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/common/launch.h"
#include "fp4moe/format/hd.h"
#include "fp4moe/format/scale_layout.h"

namespace fp4moe::cuda {

// One CTA-row of work for a grouped GEMM: `rows` (<= the GEMM's token block) sorted rows of one
// expert starting at `row_begin`.
struct GemmTile {
  int expert;
  int row_begin;
  int rows;
};

struct RoutingPlan {
  int* expert_offsets;  // [E+1] exclusive scan of per-expert counts; [E] = valid pairs
  int* padded_offsets;  // [E+1] grouped scale row offsets (format/scale_layout.h): counts rounded to 128
  int* sorted_pairs;    // [pairs] pair index of each sorted row
  int* pair_rows;       // [pairs] sorted row of each pair, -1 when dropped or not local
  GemmTile* tiles;      // [max_gemm_tiles] tiles of at most `tile_rows` rows, experts in order
  int* num_tiles;       // [1]
  uint32_t* amax_bits;  // [2] FP32 bits of the W4A4 dynamic amaxes; reset to 0 by the plan
  int* chunk_counts;    // [routing_plan_chunk_ints] the grid plan's pairs per chunk and expert
  // With large tiles (large_rows > 0): each expert's first floor(count / large_rows) * large_rows
  // rows go to full tiles of large_rows rows here, for a GEMM with a larger token block, and only
  // the rest to `tiles`. So an expert holding many more rows than the batch's average (a skewed
  // routing's hot expert) is read once per large tile, not once per small one.
  GemmTile* large_tiles;  // [max_large_tiles]
  int* num_large_tiles;   // [1]
  // GEMM 1's finished row blocks per tile of `tiles`, which GEMM 2 waits for tile by tile
  // (gemm/grouped_gemm.h's TileHandoff); the plan zeroes those of its tiles. Null: none.
  uint32_t* tile_done;    // [max_gemm_tiles]
  // The persistent GEMM 2's next item past each CTA's first (gemm/grouped_gemm.cu); zeroed by the
  // plan. Null: none (the large tiles' list, whose GEMM 2 is not persistent).
  uint32_t* next_item = nullptr;  // [1]

  // The large tiles as the tile list that a grouped GEMM launch walks.
  RoutingPlan large_tile_list() const {
    RoutingPlan p = *this;
    p.tiles = large_tiles;
    p.num_tiles = num_large_tiles;
    p.tile_done = nullptr;
    p.next_item = nullptr;
    return p;
  }
};

inline constexpr int kPlanThreads = 512;
inline constexpr int kPlanMaxLocalExperts = 1024;  // shared memory holds 16 warps x E counters
inline constexpr int kWarpPlanMaxPairs = 32;       // a decode batch's plan, one pair per lane (warp_plan.cuh)
inline constexpr int kOwnTileMaxPairs = 1024;      // GEMM 1 finding its own tile from the ids (own_tile.cuh)
inline constexpr int kPlanChunkPairs = 1024;       // pairs per CTA of the grid plan, at least: two steps per warp
// The grid plan's chunks, at most: each CTA of its second launch reads every chunk's counts of every
// expert (chunks x local experts ints, one vector load per lane and expert), so beyond
// kPlanMaxChunks * kPlanChunkPairs pairs the chunks grow instead of multiplying.
inline constexpr int kPlanMaxChunks = 128;

// The most top-k slots of the kernels that take one token per CTA and stage its slots' sorted rows
// in shared memory, one thread each (the combine, routing/sorted_rows.cu).
inline constexpr int kTokenKernelMaxTopK = 64;

// Up to here one CTA plans the batch, beyond it the grid. The one-CTA plan took 15 us at 4096 pairs
// and 314-332 us at 131072 (Nsight Compute, real clocks, H200). Whole layer, W4A16, uniform, two
// alternating rounds (bench/results/h200-grid-plan/ab-*): the grid from here on against the one CTA,
// qwen3 4096 pairs 220.4 -> 217.3 us, 32768 pairs 862.5 -> 811.5, 131072 pairs 3124.6 -> 2923.3,
// deepseek-v3 131072 pairs 24334 -> 23773; the grid already from 513 pairs (g512) was 2.8% slower
// at 1024 pairs and 0.6% at 2048 (qwen3 T=128 and T=256).
inline constexpr int kCtaPlanMaxPairs = 2048;

// The local expert of top-k id `id`, or -1 when it is dropped (negative) or another rank's.
FP4MOE_HD int local_expert_of(int32_t id, int local_start, int num_local) {
  const int e = id - local_start;
  return (id >= 0 && e >= 0 && e < num_local) ? e : -1;
}

// An expert's tiles, the one rule that every plan (warp_plan.cuh, plan.cu) lists them by and GEMM 1's
// own tiles (own_tile.cuh) count them by: of its `rows` pairs, the first floor(rows / large_rows) *
// large_rows go to full large tiles (large_rows 0: none), the rest to tiles of at most tile_rows.
// rows >= 0. The divisor is a select, not a branch, so that the plan's scan, which needs both counts
// of an expert, divides once (with `large_rows > 0 ? rows / large_rows : 0` ptxas divided twice).
FP4MOE_HD int expert_large_tiles(int rows, int large_rows) { return rows / (large_rows > 0 ? large_rows : rows + 1); }
FP4MOE_HD int expert_tiles(int rows, int tile_rows, int large_rows) {
  return int(ceil_div(rows - expert_large_tiles(rows, large_rows) * large_rows, tile_rows));
}
// Tile t of an expert's tiles of at most tile_rows, which cover `rows` sorted rows from `first_row`.
FP4MOE_HD GemmTile expert_tile(int expert, int first_row, int rows, int tile_rows, int t) {
  const int left = rows - t * tile_rows;
  return GemmTile{expert, first_row + t * tile_rows, left < tile_rows ? left : tile_rows};
}

// The most tiles any routing can produce, sum over experts of ceil(c_e / rows): with n experts
// touched it is n + sum floor((c_e - 1) / rows) <= n + floor((pairs - n) / rows), which grows with n
// and is reached by n - 1 experts of one pair and one of the rest. The GEMMs launch this many CTAs
// per row block, so every tile over it is an idle CTA: a decode batch of at most `rows` pairs has
// at most one tile per pair, not two.
FP4MOE_HD int64_t max_gemm_tiles(int64_t pairs, int64_t local_experts, int tile_rows) {
  const int64_t touched = pairs < local_experts ? pairs : local_experts;
  return touched + (pairs - touched) / tile_rows;
}

// An upper bound of the large tiles any routing can produce (every large tile is full).
FP4MOE_HD int64_t max_large_tiles(int64_t pairs, int large_rows) { return large_rows > 0 ? pairs / large_rows : 0; }

// The grid plan's pairs per chunk (one CTA each): kPlanChunkPairs, or a multiple of it that keeps
// the chunks at most kPlanMaxChunks.
FP4MOE_HD int64_t plan_chunk_pairs(int64_t pairs) {
  return kPlanChunkPairs * ceil_div(ceil_div(pairs, kPlanChunkPairs), kPlanMaxChunks);
}

// Scratch ints of the grid plan (RoutingPlan::chunk_counts): local expert e's pairs in chunk c at
// e * kPlanMaxChunks + c; none where one CTA or one warp plans the batch.
FP4MOE_HD int64_t routing_plan_chunk_ints(int64_t pairs, int64_t local_experts) {
  return pairs > kCtaPlanMaxPairs ? kPlanMaxChunks * local_experts : 0;
}

// Once per process and device, before the first launch (raises the shared-memory limit).
void configure_routing_plan();

// large_rows: 0 for no large tiles (plan.large_tiles may then be null; *num_large_tiles, where
// given, is set to 0). The one-warp plan of at most kWarpPlanMaxPairs pairs makes none.
void launch_routing_plan(const int32_t* topk_ids, int num_pairs, int local_start, int num_local, int tile_rows,
                         int large_rows, const RoutingPlan& plan, const Launch& launch);

}  // namespace fp4moe::cuda
