// One CTA builds the whole plan in three passes, with no atomics and no host sync:
//   1. each warp counts the experts of its contiguous slice of pairs (warp-private counters),
//   2. the CTA scans the counts into expert offsets, per-warp bases and the GEMM tile list,
//   3. each warp walks its slice again and places every pair at base + rank-within-warp.
// A warp handles 32 pairs at a time; __match_any_sync groups the lanes of one expert, so a
// step costs a few instructions. Warp slices are in pair order, so the result is stable.
//
// Batches of at most kWarpPlanMaxPairs pairs take a one-warp kernel instead, with no CTA barriers:
// at one token the plan is the first link of the forward's chain, so its latency counts whole.
#include <cub/block/block_scan.cuh>
#include <cub/warp/warp_scan.cuh>

#include "cuda/common/check.h"
#include "cuda/common/ptx.cuh"
#include "cuda/routing/plan.h"
#include "cuda/routing/warp_plan.cuh"

namespace fp4moe::cuda {
namespace {

constexpr int kWarps = kPlanThreads / 32;
constexpr int kExpertsPerThread = kPlanMaxLocalExperts / kPlanThreads;

// Calls visit(pair, in_slice, expert, peers) for each group of 32 pairs of this warp's slice, in
// order; every lane of the warp takes part. `peers` is the mask of lanes holding the same expert;
// lanes past the slice end carry expert -1.
template <class Visit>
__device__ void for_each_warp_step(const int32_t* topk_ids, int num_pairs, int local_start, int num_local,
                                   Visit&& visit) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slice = int(ceil_div(num_pairs, kWarps));
  const int begin = warp * slice, end = min(num_pairs, begin + slice);
  for (int base = begin; base < end; base += 32) {
    const int pair = base + lane;
    const bool in_slice = pair < end;
    const int e = in_slice ? local_expert_of(topk_ids[pair], local_start, num_local) : -1;
    const uint32_t peers = __match_any_sync(0xFFFFFFFFu, e);
    visit(pair, in_slice, e, peers);
  }
}

__global__ void __launch_bounds__(kPlanThreads) routing_plan_kernel(const int32_t* topk_ids, int num_pairs,
                                                                    int local_start, int num_local, int tile_rows,
                                                                    RoutingPlan plan) {
  extern __shared__ int warp_counts[];  // [kWarps][num_local]; pass 3 reuses it as per-warp bases
  using Scan = cub::BlockScan<int, kPlanThreads>;
  __shared__ typename Scan::TempStorage scan_storage;

  ptx::grid_dependency_wait();  // the previous forward may still read the plan
  ptx::launch_dependent_grids();
  const int warp = threadIdx.x / 32;
  for (int i = threadIdx.x; i < kWarps * num_local; i += kPlanThreads) warp_counts[i] = 0;
  if (threadIdx.x < 2) plan.amax_bits[threadIdx.x] = 0;
  __syncthreads();

  // Pass 1: count. The lowest lane of each expert group adds the group size to its warp's row.
  for_each_warp_step(topk_ids, num_pairs, local_start, num_local, [&](int, bool, int e, uint32_t peers) {
    if (e >= 0 && (peers & ptx::lanemask_lt()) == 0) warp_counts[warp * num_local + e] += __popc(peers);
    __syncwarp();  // the next step's leader may be another lane
  });
  __syncthreads();

  // Pass 2: thread i owns experts [i*kExpertsPerThread, ...). Scan totals, padded totals, tiles.
  int total[kExpertsPerThread], padded[kExpertsPerThread], tiles[kExpertsPerThread];
  for (int i = 0; i < kExpertsPerThread; ++i) {
    const int e = threadIdx.x * kExpertsPerThread + i;
    total[i] = 0;
    if (e < num_local)
      for (int w = 0; w < kWarps; ++w) total[i] += warp_counts[w * num_local + e];
    padded[i] = int(grouped_scale_rows(total[i]));
    tiles[i] = int(ceil_div(total[i], tile_rows));
  }
  int offset[kExpertsPerThread], padded_offset[kExpertsPerThread], tile_offset[kExpertsPerThread];
  int sum_total, sum_padded, sum_tiles;
  Scan(scan_storage).ExclusiveSum(total, offset, sum_total);
  __syncthreads();
  Scan(scan_storage).ExclusiveSum(padded, padded_offset, sum_padded);
  __syncthreads();
  Scan(scan_storage).ExclusiveSum(tiles, tile_offset, sum_tiles);

  for (int i = 0; i < kExpertsPerThread; ++i) {
    const int e = threadIdx.x * kExpertsPerThread + i;
    if (e >= num_local) continue;
    plan.expert_offsets[e] = offset[i];
    plan.padded_offsets[e] = padded_offset[i];
    for (int t = 0; t < tiles[i]; ++t)
      plan.tiles[tile_offset[i] + t] = GemmTile{e, offset[i] + t * tile_rows, min(tile_rows, total[i] - t * tile_rows)};
    int base = offset[i];  // warp w's first row for expert e: after the pairs of warps < w
    for (int w = 0; w < kWarps; ++w) {
      const int count = warp_counts[w * num_local + e];
      warp_counts[w * num_local + e] = base;
      base += count;
    }
  }
  if (threadIdx.x == 0) {
    plan.expert_offsets[num_local] = sum_total;
    plan.padded_offsets[num_local] = sum_padded;
    *plan.num_tiles = sum_tiles;
  }
  __syncthreads();

  // Pass 3: place. Rank within the step = lanes of the same expert below this one.
  for_each_warp_step(topk_ids, num_pairs, local_start, num_local, [&](int pair, bool in_slice, int e, uint32_t peers) {
    int row = -1;
    if (e >= 0) {
      row = warp_counts[warp * num_local + e] + __popc(peers & ptx::lanemask_lt());
      plan.sorted_pairs[row] = pair;
    }
    __syncwarp();
    if (e >= 0 && (peers & ptx::lanemask_lt()) == 0) warp_counts[warp * num_local + e] += __popc(peers);
    __syncwarp();
    if (in_slice) plan.pair_rows[pair] = row;
  });
}

// An expert's sorted rows and its grouped-scale rows, scanned together into the two offsets.
struct ExpertRows {
  int rows, padded_rows;
  __device__ ExpertRows operator+(const ExpertRows& o) const { return {rows + o.rows, padded_rows + o.padded_rows}; }
};

// The plan of at most kWarpPlanMaxPairs pairs in one warp: rows and tiles from build_warp_plan
// (the decode kernels' own plan) copied out, then each expert's offsets from a warp scan of the
// experts' row counts, 32 experts at a time.
__global__ void __launch_bounds__(32) routing_plan_warp_kernel(const int32_t* topk_ids, int num_pairs,
                                                                 int local_start, int num_local, int tile_rows,
                                                                 RoutingPlan plan) {
  extern __shared__ int expert_rows[];  // [num_local]
  __shared__ WarpPlan local;
  using Scan = cub::WarpScan<ExpertRows>;
  __shared__ typename Scan::TempStorage scan_storage;

  ptx::grid_dependency_wait();  // the previous forward may still read the plan
  ptx::launch_dependent_grids();
  const int lane = int(threadIdx.x);
  if (lane < 2) plan.amax_bits[lane] = 0;
  for (int e = lane; e < num_local; e += 32) expert_rows[e] = 0;
  build_warp_plan(topk_ids, num_pairs, local_start, num_local, tile_rows, local);
  __syncwarp();
  if (lane < num_pairs) {
    const int row = local.pair_rows[lane];
    plan.pair_rows[lane] = row;
    if (row >= 0) plan.sorted_pairs[row] = lane;
  }
  for (int t = lane; t < local.num_tiles; t += 32) {
    plan.tiles[t] = local.tiles[t];
    atomicAdd(&expert_rows[local.tiles[t].expert], local.tiles[t].rows);
  }
  if (lane == 0) *plan.num_tiles = local.num_tiles;
  __syncwarp();

  ExpertRows before{0, 0};  // over the experts of the earlier groups of 32
  for (int base = 0; base < num_local; base += 32) {
    const int e = base + lane;
    const int rows = e < num_local ? expert_rows[e] : 0;
    ExpertRows first, group;
    Scan(scan_storage).ExclusiveSum(ExpertRows{rows, int(grouped_scale_rows(rows))}, first, group);
    __syncwarp();  // the scan's storage is reused by the next group
    if (e < num_local) {
      plan.expert_offsets[e] = before.rows + first.rows;
      plan.padded_offsets[e] = before.padded_rows + first.padded_rows;
    }
    before = before + group;
  }
  if (lane == 0) {
    plan.expert_offsets[num_local] = before.rows;
    plan.padded_offsets[num_local] = before.padded_rows;
  }
}

}  // namespace

void configure_routing_plan() {
  const int max_smem = kWarps * kPlanMaxLocalExperts * int(sizeof(int));
  check_cuda(cudaFuncSetAttribute(routing_plan_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, max_smem),
             "routing plan shared memory");
}

void launch_routing_plan(const int32_t* topk_ids, int num_pairs, int local_start, int num_local, int tile_rows,
                         const RoutingPlan& plan, const Launch& launch) {
  if (num_pairs <= kWarpPlanMaxPairs) {
    launch_kernel(routing_plan_warp_kernel, 1, 32, size_t(num_local) * sizeof(int), launch, "routing_plan_warp_kernel",
                  topk_ids, num_pairs, local_start, num_local, tile_rows, plan);
    return;
  }
  const size_t smem = size_t(kWarps) * num_local * sizeof(int);
  launch_kernel(routing_plan_kernel, 1, kPlanThreads, smem, launch, "routing_plan_kernel", topk_ids, num_pairs,
                local_start, num_local, tile_rows, plan);
}

}  // namespace fp4moe::cuda
