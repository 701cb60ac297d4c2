// Where each scratch buffer of one forward lives inside the caller's workspace. Pure arithmetic
// on host-known sizes, so forward() allocates nothing and a captured graph stays valid.
#pragma once
#include <cstddef>

#include "cuda/gemm/decode_gemm.h"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/moe/dispatch.h"
#include "cuda/routing/plan.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::cuda {

struct WorkspaceLayout {
  size_t expert_offsets, padded_offsets, sorted_pairs, pair_rows, tiles, num_tiles, amax, chunk_counts;
  size_t large_tiles, num_large_tiles;  // for any large tile size (at least kMinLargeTileRows)
  size_t tile_done;                     // one counter per tile of `tiles`
  size_t next_item;                     // the persistent GEMM 2's item counter
  size_t x_quantized;  // W4A4: BF16 [T, H] fake-quantized x
  size_t x_sorted;     // BF16 [T*k, H] GEMM 1's rows in sorted order (routing/sorted_rows.h), where the rule can apply
  size_t h_bf16;       // [T*k, I] GEMM 1 output (W4A16) or its quantized form (W4A4)
  size_t h_f32;        // W4A4: [T*k, I] FP32 GEMM 1 output before quantization
  size_t y;            // [T*k, H] FP32 per-pair GEMM 2 output
  size_t y_slice;      // GEMM 2's K slices past the first (dispatch.h's gemm2_splits_k): [pairs, H] FP32 each
  size_t arrivals;     // the decode forward's counters (gemm/decode_gemm.h)
  size_t valid_rows;   // the decode forward's count of sorted rows (W4A4)
  size_t total;

  // hopper: the device runs the wgmma tiles, so GEMM 1 may read sorted rows (x_sorted).
  static WorkspaceLayout make(const MoeConfig& config, int num_tokens, int min_block_tokens, bool hopper) {
    const int64_t pairs = int64_t(num_tokens) * config.top_k;
    const int64_t experts = config.num_local_experts();
    const bool w4a4 = config.mode == QuantMode::kW4A4;
    WorkspaceLayout l{};
    size_t at = 0;
    auto take = [&](size_t bytes) {
      const size_t offset = at;
      at += size_t(round_up(int64_t(bytes), 256));
      return offset;
    };
    l.expert_offsets = take(sizeof(int) * (experts + 1));
    l.padded_offsets = take(sizeof(int) * (experts + 1));
    l.sorted_pairs = take(sizeof(int) * pairs);
    l.pair_rows = take(sizeof(int) * pairs);
    l.tiles = take(sizeof(GemmTile) * max_gemm_tiles(pairs, experts, min_block_tokens));
    l.num_tiles = take(sizeof(int));
    l.amax = take(2 * sizeof(uint32_t));
    l.chunk_counts = take(sizeof(int) * routing_plan_chunk_ints(pairs, experts));
    l.large_tiles = take(sizeof(GemmTile) * max_large_tiles(pairs, kMinLargeTileRows));
    l.num_large_tiles = take(sizeof(int));
    l.tile_done = take(sizeof(uint32_t) * max_gemm_tiles(pairs, experts, min_block_tokens));
    l.next_item = take(sizeof(uint32_t));
    l.x_quantized = take(w4a4 ? sizeof(bf16) * num_tokens * config.hidden : 0);
    const int64_t gate_up_rows = packed_weight_shape(WeightRole::kGateUp, config.hidden, config.intermediate).rows;
    const bool sorted_rows = hopper && sorted_rows_pay(gate_up_rows, pairs, experts);
    l.x_sorted = take(sorted_rows ? sizeof(bf16) * pairs * config.hidden : 0);
    l.h_bf16 = take(sizeof(bf16) * pairs * config.intermediate);
    l.h_f32 = take(w4a4 ? sizeof(float) * pairs * config.intermediate : 0);
    l.y = take(sizeof(float) * pairs * config.hidden);
    const int64_t split_pairs = hopper ? gemm2_split_pairs(config, num_tokens) : 0;
    l.y_slice = take(sizeof(float) * (kGemm2KSlices - 1) * split_pairs * config.hidden);
    l.arrivals = take(sizeof(uint32_t) * decode_arrival_counters(config.hidden));
    l.valid_rows = take(w4a4 ? sizeof(int) : 0);
    l.total = at;
    return l;
  }

  template <class T>
  static T* at(void* base, size_t offset) {
    return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
  }

  RoutingPlan plan(void* base) const {
    return RoutingPlan{at<int>(base, expert_offsets),    at<int>(base, padded_offsets), at<int>(base, sorted_pairs),
                       at<int>(base, pair_rows),         at<GemmTile>(base, tiles),     at<int>(base, num_tiles),
                       at<uint32_t>(base, amax),         at<int>(base, chunk_counts),   at<GemmTile>(base, large_tiles),
                       at<int>(base, num_large_tiles),   at<uint32_t>(base, tile_done), at<uint32_t>(base, next_item)};
  }
};

}  // namespace fp4moe::cuda
