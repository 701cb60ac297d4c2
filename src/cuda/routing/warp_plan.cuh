// The routing plan of a decode batch (at most 32 pairs), built by one warp into shared memory. The
// decode kernels (gemm/decode_gemm.cu) each build it for themselves instead of reading one that a
// plan kernel wrote, which takes a kernel out of a chain whose every link costs latency at one
// token; the plan kernel's one-warp form (routing/plan.cu) builds it and adds the per-expert
// offsets, which only the quantization of W4A4 activations reads. Lane p holds pair p: the same
// sorted rows as the CTA plan kernel's (stable, so deterministic) and the same tiles, experts in
// order.
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/routing/plan.h"

namespace fp4moe::cuda {

inline constexpr int kWarpPlanMaxTiles = kWarpPlanMaxPairs;  // >= max_gemm_tiles(32, any E, any tile rows)

// The lanes of the warp whose local expert equals this lane's (e in [-1, num_local); every lane
// calls it with the same num_local): what __match_any_sync(~0u, e) returns, by one ballot per bit
// of e + 1 instead of a MATCH, whose waits held most of the grid plan's samples (Nsight Compute,
// bench/results/h200-plan-two-launches/ncu/); the ballots took about 1 us off each grid plan kernel
// at 16384 tokens (H200, bench/results/h200-plan-scan/ballot/).
__device__ __forceinline__ uint32_t lanes_of_same_expert(int e, int num_local) {
  const uint32_t key = uint32_t(e + 1);  // -1 (no local expert) groups as 0
  const int bits = 32 - __clz(num_local);  // enough for keys 0 .. num_local
  uint32_t peers = 0xFFFFFFFFu;
  for (int b = 0; b < bits; ++b) {
    const uint32_t ones = __ballot_sync(0xFFFFFFFFu, (key >> b) & 1u);
    peers &= (key >> b) & 1u ? ones : ~ones;
  }
  return peers;
}

struct WarpPlan {
  int sorted_pairs[kWarpPlanMaxPairs];  // pair of each sorted row
  int pair_rows[kWarpPlanMaxPairs];     // sorted row of each pair, -1 when dropped or not local
  GemmTile tiles[kWarpPlanMaxTiles];
  int num_tiles;
  int num_rows;  // pairs of local experts: the sorted rows
};

// Every lane of one warp calls this; num_pairs <= kWarpPlanMaxPairs. A pair's row is the count of
// pairs with a lower expert plus those of its own expert before it; an expert's group leader (its
// first pair) writes the expert's tiles after those of the lower experts. The ids are read from
// L2 (ld.cg): a kernel may call this before it waits for its predecessor (decode_gemm.cu says
// when that is safe), and the SM's L1 may hold an older forward's ids.
__device__ __forceinline__ void build_warp_plan(const int32_t* topk_ids, int num_pairs, int local_start, int num_local,
                                                int tile_rows, WarpPlan& plan) {
  const int lane = threadIdx.x % 32;
  const int e = lane < num_pairs ? local_expert_of(__ldcg(topk_ids + lane), local_start, num_local) : -1;
  const uint32_t peers = lanes_of_same_expert(e, num_local);
  const uint32_t before = peers & ptx::lanemask_lt();
  const int count = __popc(peers);
  const int tiles = e >= 0 && before == 0 ? expert_tiles(count, tile_rows, 0) : 0;  // the group leader's
  // One shuffle per lane: expert + 1 (so -1 packs as 0) above, the leader's tile count below.
  const int packed = ((e + 1) << 8) | tiles;
  int rows_below = 0, tiles_below = 0;
#pragma unroll
  for (int q = 0; q < 32; ++q) {
    const int other = __shfl_sync(0xFFFFFFFFu, packed, q);
    const int other_e = (other >> 8) - 1;
    const bool below = other_e >= 0 && other_e < e;
    rows_below += below ? 1 : 0;
    tiles_below += below ? other & 0xFF : 0;
  }
  const int row = e >= 0 ? rows_below + __popc(before) : -1;
  if (lane < num_pairs) {
    plan.pair_rows[lane] = row;
    if (row >= 0) plan.sorted_pairs[row] = lane;
  }
  for (int t = 0; t < tiles; ++t)
    plan.tiles[tiles_below + t] = expert_tile(e, row, count, tile_rows, t);
  const int num_tiles = __reduce_add_sync(0xFFFFFFFFu, tiles);
  const int num_rows = __popc(__ballot_sync(0xFFFFFFFFu, e >= 0));
  if (lane == 0) {
    plan.num_tiles = num_tiles;
    plan.num_rows = num_rows;
  }
}

}  // namespace fp4moe::cuda
