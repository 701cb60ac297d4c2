// The plan is built with no atomics and no host sync, in three passes over slices of the pairs:
//   1. count: each slice counts its pairs per expert,
//   2. scan: the counts become the expert offsets, the 128-aligned offsets, the GEMM tile list and
//      each slice's first row per expert,
//   3. place: each slice walks its pairs again and puts each at its first row + its rank within
//      the slice.
// Slices are in pair order and rank their pairs in order, so the result is stable. Within a CTA
// the slices are its warps; a warp handles 32 pairs at a time, and ballots group the lanes of one
// expert (lanes_of_same_expert), so a step costs a few instructions.
//
// The batch size picks who does it:
// - at most kWarpPlanMaxPairs pairs, one warp, with no CTA barriers: at one token the plan is the
//   first link of the forward's chain, so its latency counts whole;
// - at most kCtaPlanMaxPairs, one CTA, its warps' counts in shared memory;
// - beyond, a grid of one CTA per chunk of pairs in two launches, the chunks' counts in global
//   memory between them: one CTA's warps walking long slices step after step took tens to hundreds
//   of microseconds at 4096-131072 pairs. The second launch scans in every CTA: each reads all the
//   chunks' counts, which at most kPlanMaxChunks chunks keep to one vector load per lane and expert.
//   A scan kernel of one CTA between the two was a chain of round trips that no other CTA helped
//   with: 22 us of the plan's 30 at qwen3 16384 tokens (H200), and 12 us with its loads batched.
#include <cub/block/block_scan.cuh>
#include <cub/warp/warp_scan.cuh>

#include "cuda/common/check.h"
#include "cuda/common/ptx.cuh"
#include "cuda/routing/plan.h"
#include "cuda/routing/warp_plan.cuh"

namespace fp4moe::cuda {
namespace {

constexpr int kWarps = kPlanThreads / 32;
// A thread owns experts threadIdx.x + s * kPlanThreads, s < kExpertStripes: striped, so that a
// batch of few local experts spreads its per-expert work over as many warps as it can.
constexpr int kExpertStripes = kPlanMaxLocalExperts / kPlanThreads;
__device__ __forceinline__ int owned_expert(int stripe) { return int(threadIdx.x) + stripe * kPlanThreads; }
constexpr int kChunkLoads = 8;  // experts whose chunk counts a warp loads at once
static_assert(kPlanMaxChunks == 4 * 32, "a lane holds four chunks' counts of an expert");

// Calls visit(pair, in_slice, expert, peers) for each group of 32 pairs of this warp's slice of
// [begin, end), in order; every lane of the warp takes part. `peers` is the mask of lanes holding
// the same expert; lanes past the slice end carry expert -1. The next group's ids are loaded before
// the current group is visited, so a slice of several steps is not a chain of round trips.
template <class Visit>
__device__ void for_each_warp_step(const int32_t* topk_ids, int begin, int end, int local_start, int num_local,
                                   Visit&& visit) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slice = int(ceil_div(end - begin, kWarps));
  const int first = begin + warp * slice, last = min(end, first + slice);
  int id = first + lane < last ? topk_ids[first + lane] : -1;
  for (int base = first; base < last; base += 32) {
    const int pair = base + lane;
    const bool in_slice = pair < last;
    const int next = pair + 32 < last ? topk_ids[pair + 32] : -1;
    const int e = in_slice ? local_expert_of(id, local_start, num_local) : -1;
    const uint32_t peers = lanes_of_same_expert(e, num_local);
    visit(pair, in_slice, e, peers);
    id = next;
  }
}

// Pass 1 over this CTA's pairs [begin, end): counts[warp][e] += the pairs of expert e in the warp's
// slice (counts zeroed before). The lowest lane of each expert group adds the group's size.
__device__ void count_by_warp(const int32_t* topk_ids, int begin, int end, int local_start, int num_local,
                              int* counts) {
  const int warp = threadIdx.x / 32;
  for_each_warp_step(topk_ids, begin, end, local_start, num_local, [&](int, bool, int e, uint32_t peers) {
    if (e >= 0 && (peers & ptx::lanemask_lt()) == 0) counts[warp * num_local + e] += __popc(peers);
    __syncwarp();  // the next step's leader may be another lane
  });
}

// After pass 1: the pairs of expert e over all the warps' slices.
__device__ int cta_count(const int* counts, int e, int num_local) {
  int total = 0;
  for (int w = 0; w < kWarps; ++w) total += counts[w * num_local + e];
  return total;
}

// Between passes 1 and 3: the thread owning expert e turns counts[w][e] into warp w's first row of
// e, starting at `first` (the CTA's first row of e).
__device__ void counts_to_warp_rows(int* counts, int e, int num_local, int first) {
  for (int w = 0; w < kWarps; ++w) {
    const int count = counts[w * num_local + e];
    counts[w * num_local + e] = first;
    first += count;
  }
}

// Pass 3 over this CTA's pairs [begin, end): each pair of a local expert goes to its warp's next
// row of that expert (rows[warp][e], from counts_to_warp_rows); every pair's row, -1 for the rest.
__device__ void place_by_warp(const int32_t* topk_ids, int begin, int end, int local_start, int num_local, int* rows,
                              const RoutingPlan& plan) {
  const int warp = threadIdx.x / 32;
  for_each_warp_step(topk_ids, begin, end, local_start, num_local, [&](int pair, bool in_slice, int e, uint32_t peers) {
    int row = -1;
    if (e >= 0) {
      row = rows[warp * num_local + e] + __popc(peers & ptx::lanemask_lt());
      plan.sorted_pairs[row] = pair;
    }
    __syncwarp();
    if (e >= 0 && (peers & ptx::lanemask_lt()) == 0) rows[warp * num_local + e] += __popc(peers);
    __syncwarp();
    if (in_slice) plan.pair_rows[pair] = row;
  });
}

// An expert's sorted rows, grouped-scale rows, GEMM tiles and large tiles: one scan of these gives
// every offset of the plan. (Four scans, one per field, cost CTA 0 three more block barriers.)
struct ExpertSums {
  int rows, padded_rows, tiles, large_tiles;
  __device__ ExpertSums operator+(const ExpertSums& o) const {
    return {rows + o.rows, padded_rows + o.padded_rows, tiles + o.tiles, large_tiles + o.large_tiles};
  }
};

// An expert of `rows` pairs: its rows, grouped-scale rows, tiles and large tiles (plan.h's
// expert_tiles: the large tiles first, tiles of tile_rows over the rest).
__device__ ExpertSums expert_sums(int rows, int tile_rows, int large_rows) {
  return {rows, int(grouped_scale_rows(rows)), expert_tiles(rows, tile_rows, large_rows),
          expert_large_tiles(rows, large_rows)};
}

using ExpertScan = cub::BlockScan<ExpertSums, kPlanThreads>;

// Pass 2, every thread of the CTA: rows_of(e) gives expert e's pairs. Returns in sums[s] the sums
// of the thread's expert of stripe s (zeros past num_local), in first[s] those of all experts
// before it, and the sums of all experts: one block scan per stripe that holds an expert.
template <class RowsOf>
__device__ ExpertSums scan_experts(RowsOf&& rows_of, int num_local, int tile_rows, int large_rows,
                                   ExpertScan::TempStorage& storage, ExpertSums (&sums)[kExpertStripes],
                                   ExpertSums (&first)[kExpertStripes]) {
  ExpertSums before{};  // over the stripes scanned so far
#pragma unroll
  for (int s = 0; s < kExpertStripes; ++s) {
    const int e = owned_expert(s);
    sums[s] = e < num_local ? expert_sums(rows_of(e), tile_rows, large_rows) : ExpertSums{};
    first[s] = before;
    if (s * kPlanThreads >= num_local) continue;  // the same in every thread
    if (s > 0) __syncthreads();                     // the scan's storage is reused
    ExpertSums in_stripe, all;
    ExpertScan(storage).ExclusiveSum(sums[s], in_stripe, all);
    first[s] = before + in_stripe;
    before = before + all;
  }
  return before;
}

// After scan_experts, every thread of the CTA: writes the expert offsets, the 128-aligned offsets
// and the tile lists (an expert's large tiles first, then its small ones over the rest of its rows).
// One CTA per plan does this.
__device__ void write_expert_rows(const ExpertSums (&sums)[kExpertStripes],
                                  const ExpertSums (&first)[kExpertStripes], const ExpertSums& all, int num_local,
                                  int tile_rows, int large_rows, const RoutingPlan& plan) {
#pragma unroll
  for (int s = 0; s < kExpertStripes; ++s) {
    const int e = owned_expert(s);
    if (e >= num_local) continue;
    plan.expert_offsets[e] = first[s].rows;
    plan.padded_offsets[e] = first[s].padded_rows;
    const int large = sums[s].large_tiles * large_rows;  // the rows of the expert's large tiles, all full
    for (int t = 0; t < sums[s].large_tiles; ++t)
      plan.large_tiles[first[s].large_tiles + t] = expert_tile(e, first[s].rows, large, large_rows, t);
    const int start = first[s].rows + large, rest = sums[s].rows - large;
    for (int t = 0; t < sums[s].tiles; ++t) {
      plan.tiles[first[s].tiles + t] = expert_tile(e, start, rest, tile_rows, t);
      if (plan.tile_done) plan.tile_done[first[s].tiles + t] = 0;
    }
  }
  if (threadIdx.x == 0) {
    plan.expert_offsets[num_local] = all.rows;
    plan.padded_offsets[num_local] = all.padded_rows;
    *plan.num_tiles = all.tiles;
    if (plan.num_large_tiles) *plan.num_large_tiles = all.large_tiles;
  }
}

// W4A4's dynamic amaxes (of x and of h) and the persistent GEMM 2's item counter accumulate during
// the forward; the one kernel of each plan that writes the expert offsets starts them at 0.
__device__ __forceinline__ void reset_forward_counters(const RoutingPlan& plan) {
  if (threadIdx.x < 2) plan.amax_bits[threadIdx.x] = 0;
  if (threadIdx.x == 2 && plan.next_item) *plan.next_item = 0;
}

// Every thread of the CTA: its counters (counts[kWarps][num_local] in shared memory) start at 0.
__device__ void zero_warp_counts(int* counts, int num_local) {
  for (int i = threadIdx.x; i < kWarps * num_local; i += kPlanThreads) counts[i] = 0;
  __syncthreads();
}

// The one-CTA plan and the count kernel start so: the previous kernel may still read the plan. (The
// place kernel counts its chunk before it waits.)
__device__ void start_plan_kernel(int* counts, int num_local) {
  ptx::wait_for_predecessor();
  zero_warp_counts(counts, num_local);
}

// The whole plan in one CTA (at most kCtaPlanMaxPairs pairs; any count works).
__global__ void __launch_bounds__(kPlanThreads) routing_plan_kernel(const int32_t* topk_ids, int num_pairs,
                                                                    int local_start, int num_local, int tile_rows,
                                                                    int large_rows, RoutingPlan plan) {
  extern __shared__ int warp_counts[];  // [kWarps][num_local]; pass 3 reuses it as per-warp rows
  __shared__ ExpertScan::TempStorage scan_storage;
  start_plan_kernel(warp_counts, num_local);
  reset_forward_counters(plan);
  count_by_warp(topk_ids, 0, num_pairs, local_start, num_local, warp_counts);
  __syncthreads();

  ExpertSums sums[kExpertStripes], first[kExpertStripes];
  const ExpertSums all = scan_experts([&](int e) { return cta_count(warp_counts, e, num_local); }, num_local,
                                      tile_rows, large_rows, scan_storage, sums, first);
  write_expert_rows(sums, first, all, num_local, tile_rows, large_rows, plan);
#pragma unroll
  for (int s = 0; s < kExpertStripes; ++s)
    if (owned_expert(s) < num_local) counts_to_warp_rows(warp_counts, owned_expert(s), num_local, first[s].rows);
  __syncthreads();
  place_by_warp(topk_ids, 0, num_pairs, local_start, num_local, warp_counts, plan);
}

// The grid plan's pairs of this CTA: chunk blockIdx.x of chunk_pairs, [begin, end).
struct PairRange {
  int begin, end;
};
__device__ PairRange this_chunk(int num_pairs, int chunk_pairs) {
  const int begin = int(blockIdx.x) * chunk_pairs;
  return {begin, min(num_pairs, begin + chunk_pairs)};
}

// The grid plan, launch 1 of 2: CTA c counts the pairs of its chunk per expert into
// plan.chunk_counts[e * kPlanMaxChunks + c].
__global__ void __launch_bounds__(kPlanThreads) plan_count_kernel(const int32_t* topk_ids, int num_pairs,
                                                                  int chunk_pairs, int local_start, int num_local,
                                                                  RoutingPlan plan) {
  extern __shared__ int warp_counts[];  // [kWarps][num_local]
  start_plan_kernel(warp_counts, num_local);
  const PairRange chunk = this_chunk(num_pairs, chunk_pairs);
  count_by_warp(topk_ids, chunk.begin, chunk.end, local_start, num_local, warp_counts);
  __syncthreads();
  for (int e = threadIdx.x; e < num_local; e += kPlanThreads)
    plan.chunk_counts[e * kPlanMaxChunks + blockIdx.x] = cta_count(warp_counts, e, num_local);
}

// Each expert's pairs over all the chunks (total[e]) and over the chunks before this CTA's
// (first[e], the chunk's first row within the expert), into shared memory. Warp w takes experts w,
// w + kWarps, ...: lane l holds chunks 4l .. 4l + 3 of an expert, and two warp reductions give the
// sums; the loads of kChunkLoads experts go out together.
__device__ void sum_chunk_counts(const int* chunk_counts, int num_chunks, int num_local, int* total, int* first) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, chunk = int(blockIdx.x), c = 4 * lane;
  for (int e0 = warp; e0 < num_local; e0 += kWarps * kChunkLoads) {
    int4 n[kChunkLoads];
#pragma unroll
    for (int i = 0; i < kChunkLoads; ++i) {
      const int e = e0 + i * kWarps;
      n[i] = e < num_local && c < num_chunks ? *reinterpret_cast<const int4*>(chunk_counts + e * kPlanMaxChunks + c)
                                             : int4{0, 0, 0, 0};
    }
#pragma unroll
    for (int i = 0; i < kChunkLoads; ++i) {
      const int e = e0 + i * kWarps;
      if (e >= num_local) break;  // the same in every lane
      const int counts[4] = {n[i].x, n[i].y, n[i].z, n[i].w};
      int all = 0, before = 0;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        all += c + j < num_chunks ? counts[j] : 0;
        before += c + j < chunk ? counts[j] : 0;
      }
      all = __reduce_add_sync(0xFFFFFFFFu, all);
      before = __reduce_add_sync(0xFFFFFFFFu, before);
      if (lane == 0) {
        total[e] = all;
        first[e] = before;
      }
    }
  }
}

// Launch 2 of 2: CTA c scans the chunks' counts itself (sum_chunk_counts, the expert scan), counts
// its chunk again per warp and places its pairs from its first rows (the expert's offset + the
// chunk's first row within it). CTA 0 also writes the expert offsets and the tile lists.
__global__ void __launch_bounds__(kPlanThreads) plan_place_kernel(const int32_t* topk_ids, int num_pairs,
                                                                  int chunk_pairs, int local_start, int num_local,
                                                                  int tile_rows, int large_rows, RoutingPlan plan) {
  extern __shared__ int warp_counts[];  // [kWarps][num_local]; then per-warp rows
  __shared__ int expert_total[kPlanMaxLocalExperts], chunk_first[kPlanMaxLocalExperts];
  __shared__ ExpertScan::TempStorage scan_storage;
  zero_warp_counts(warp_counts, num_local);
  // This kernel starts once the count kernel has passed its own wait, so the previous forward is
  // done with the plan and the ids are in place: its own counts need not wait for the chunks'.
  const PairRange chunk = this_chunk(num_pairs, chunk_pairs);
  count_by_warp(topk_ids, chunk.begin, chunk.end, local_start, num_local, warp_counts);
  ptx::wait_for_predecessor();
  if (blockIdx.x == 0) reset_forward_counters(plan);
  sum_chunk_counts(plan.chunk_counts, int(gridDim.x), num_local, expert_total, chunk_first);
  __syncthreads();

  ExpertSums sums[kExpertStripes], first[kExpertStripes];
  const ExpertSums all = scan_experts([&](int e) { return expert_total[e]; }, num_local, tile_rows, large_rows,
                                      scan_storage, sums, first);
  if (blockIdx.x == 0) write_expert_rows(sums, first, all, num_local, tile_rows, large_rows, plan);
#pragma unroll
  for (int s = 0; s < kExpertStripes; ++s) {
    const int e = owned_expert(s);
    if (e < num_local) counts_to_warp_rows(warp_counts, e, num_local, first[s].rows + chunk_first[e]);
  }
  __syncthreads();
  place_by_warp(topk_ids, chunk.begin, chunk.end, local_start, num_local, warp_counts, plan);
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

  ptx::wait_for_predecessor();  // the previous forward may still read the plan
  const int lane = int(threadIdx.x);
  reset_forward_counters(plan);
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
    if (plan.tile_done) plan.tile_done[t] = 0;
    atomicAdd(&expert_rows[local.tiles[t].expert], local.tiles[t].rows);
  }
  if (lane == 0) {
    *plan.num_tiles = local.num_tiles;
    if (plan.num_large_tiles) *plan.num_large_tiles = 0;  // at most 32 pairs: no large tiles
  }
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
  for (const void* kernel : {reinterpret_cast<const void*>(routing_plan_kernel),
                             reinterpret_cast<const void*>(plan_count_kernel),
                             reinterpret_cast<const void*>(plan_place_kernel)})
    raise_smem_limit(kernel, size_t(max_smem), "routing plan shared memory");
}

void launch_routing_plan(const int32_t* topk_ids, int num_pairs, int local_start, int num_local, int tile_rows,
                         int large_rows, const RoutingPlan& plan, const Launch& launch) {
  require(large_rows >= 0 && (large_rows == 0 || (plan.large_tiles && plan.num_large_tiles)), "routing plan",
          "large_rows", "0, or > 0 with plan.large_tiles and plan.num_large_tiles set", large_rows);
  if (num_pairs <= kWarpPlanMaxPairs) {
    launch_kernel(routing_plan_warp_kernel, 1, 32, size_t(num_local) * sizeof(int), launch, "routing_plan_warp_kernel",
                  topk_ids, num_pairs, local_start, num_local, tile_rows, plan);
    return;
  }
  const size_t smem = size_t(kWarps) * num_local * sizeof(int);
  if (num_pairs <= kCtaPlanMaxPairs) {
    launch_kernel(routing_plan_kernel, 1, kPlanThreads, smem, launch, "routing_plan_kernel", topk_ids, num_pairs,
                  local_start, num_local, tile_rows, large_rows, plan);
    return;
  }
  const int chunk_pairs = int(plan_chunk_pairs(num_pairs)), chunks = int(ceil_div(num_pairs, chunk_pairs));
  launch_kernel(plan_count_kernel, chunks, kPlanThreads, smem, launch, "plan_count_kernel", topk_ids, num_pairs,
                chunk_pairs, local_start, num_local, plan);
  launch_kernel(plan_place_kernel, chunks, kPlanThreads, smem, launch, "plan_place_kernel", topk_ids, num_pairs,
                chunk_pairs, local_start, num_local, tile_rows, large_rows, plan);
}

}  // namespace fp4moe::cuda
