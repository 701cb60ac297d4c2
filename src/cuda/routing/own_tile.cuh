// A grouped-GEMM CTA's tile found by the CTA itself from the top-k ids: GEMM 1 with its own tiles
// (gemm/grouped_gemm.h's OwnTiles) runs the tile at its grid index of the plan's list without
// reading the list, so it need not wait for the plan kernel that writes it. The tile is the one the
// plan lists there (routing/plan.cu, without large tiles): experts in order, each expert's rows in
// tiles of kTileRows, its pairs in pair order. Every thread of the CTA takes part: one load of the
// ids per thread and slot, a count per expert in shared memory, one block scan over the experts,
// then one warp ranks the tile's expert's pairs.
#pragma once
#include <cub/block/block_scan.cuh>

#include "cuda/common/ptx.cuh"
#include "cuda/routing/plan.h"

namespace fp4moe::cuda {

template <int kThreads, int kTileRows>
class OwnTile {
  // An expert's rows and tiles, or the sums of a run of experts.
  struct Sums {
    int rows, tiles;
    __device__ Sums operator+(const Sums& o) const { return {rows + o.rows, tiles + o.tiles}; }
  };
  using Scan = cub::BlockScan<Sums, kThreads>;
  static constexpr int kLoads = kOwnTileMaxPairs / kThreads;  // ids per thread
  static_assert(kOwnTileMaxPairs % kThreads == 0, "the ids split evenly over the threads");

 public:
  // In shared memory; valid after find() returned true.
  struct Storage {
    int counts[kPlanMaxLocalExperts];              // pairs per local expert
    int16_t pair_expert[kOwnTileMaxPairs];         // local expert of each pair, -1 for none
    typename Scan::TempStorage scan;
    GemmTile tile;                                 // the tile, rows numbered as the plan's sorted rows
    int first_rank;                                // its first row's rank among its expert's pairs
    int pairs[kTileRows];                          // the pair behind each of its rows
  };

  // Every thread of the CTA: false where the routing has at most tile_index tiles (the grid covers
  // the most any routing can have). num_pairs <= kOwnTileMaxPairs, num_local <= kPlanMaxLocalExperts.
  // The ids are read from L2 (ld.cg): the SM's L1 may hold an earlier forward's.
  __device__ static bool find(const int32_t* topk_ids, int num_pairs, int local_start, int num_local, int tile_index,
                              Storage& s) {
    int ids[kLoads];
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {  // all loads first: one round trip, not kLoads
      const int p = int(threadIdx.x) + i * kThreads;
      ids[i] = p < num_pairs ? __ldcg(topk_ids + p) : -1;
    }
    for (int e = int(threadIdx.x); e < num_local; e += kThreads) s.counts[e] = 0;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int p = int(threadIdx.x) + i * kThreads;
      if (p >= num_pairs) break;
      const int e = local_expert_of(ids[i], local_start, num_local);
      s.pair_expert[p] = int16_t(e);
      if (e >= 0) atomicAdd(&s.counts[e], 1);  // counts only: their order does not matter
    }
    __syncthreads();

    // Thread t owns a run of consecutive experts; the scan gives the rows and tiles before it.
    const int per_thread = int(ceil_div(num_local, kThreads));
    const int first_expert = int(threadIdx.x) * per_thread, end_expert = min(num_local, first_expert + per_thread);
    Sums mine{0, 0};
    for (int e = first_expert; e < end_expert; ++e) mine = mine + expert_sums(s.counts[e]);
    Sums before, all;
    Scan(s.scan).ExclusiveSum(mine, before, all);
    if (tile_index >= all.tiles) return false;  // the same in every thread
    for (int e = first_expert; e < end_expert; ++e) {
      const Sums here = expert_sums(s.counts[e]);
      const int t = tile_index - before.tiles;
      if (t >= 0 && t < here.tiles) {
        s.tile = expert_tile(e, before.rows, here.rows, kTileRows, t);
        s.first_rank = t * kTileRows;
      }
      before = before + here;
    }
    __syncthreads();
    if (threadIdx.x < 32) rank_tile_pairs(num_pairs, s);
    __syncthreads();
    return true;
  }

 private:
  __device__ static Sums expert_sums(int rows) { return {rows, expert_tiles(rows, kTileRows, 0)}; }

  // One warp: the pairs of the tile's expert in pair order, 32 at a time; those whose rank falls in
  // the tile go to s.pairs. It stops after the tile's last.
  __device__ static void rank_tile_pairs(int num_pairs, Storage& s) {
    const int lane = int(threadIdx.x) % 32, expert = s.tile.expert;
    const int first = s.first_rank, end = s.first_rank + s.tile.rows;
    int seen = 0;  // the expert's pairs before this group
    for (int base = 0; base < num_pairs && seen < end; base += 32) {
      const int p = base + lane;
      const bool ours = p < num_pairs && s.pair_expert[p] == expert;
      const uint32_t group = __ballot_sync(0xFFFFFFFFu, ours);
      const int rank = seen + __popc(group & ptx::lanemask_lt());
      if (ours && rank >= first && rank < end) s.pairs[rank - first] = p;
      seen += __popc(group);
    }
  }
};

}  // namespace fp4moe::cuda
