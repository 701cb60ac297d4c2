// The decode kernels (decode_gemm.h): the mma.sync grouped GEMM, with the routing plan built in
// each CTA and, in GEMM 2, the combine.
//
// Ordering. Every kernel of the forward waits for its predecessor (programmatic dependent launch)
// before it lets the next one launch, so when GEMM 2 starts, every kernel before it, GEMM 1
// included, has passed its wait: the top-k ids and weights, which the forward's first kernel
// waited for, are complete and in L2. GEMM 2 may therefore build its plan and stream the first K
// steps of its weights before its own wait, which only the rows of h need, and so may W4A4's GEMM 1,
// after x's quantization. GEMM 1 zeroes the arrival counters once the previous forward's GEMM 2 has
// ended (after its wait, or in W4A4 after x's quantization's); GEMM 2 counts after its own wait,
// when GEMM 1 has ended.
#include <string>
#include <type_traits>

#include "cuda/common/check.h"
#include "cuda/gemm/compiled_tiles.h"
#include "cuda/gemm/decode_gemm.h"
#include "cuda/gemm/epilogues.cuh"
#include "cuda/moe/combine.cuh"
#include "cuda/routing/warp_plan.cuh"

namespace fp4moe::cuda {
namespace {

enum class DecodeGemm { kGateUp, kDown };

template <class Tile>
constexpr bool kHasDecodeGemm = !Tile::kWgmma && Tile::kBlockTokens == 8;

// GEMM 2's CTAs of one row block each count themselves done once their rows of y are written; the
// last one sums the block's columns of y over every token's slots into out (combine.cuh, the same
// sums in the same order as the combine kernel). Every thread of the CTA calls this. The barrier
// orders the CTA's stores of y before thread 0's release; its acquire, and the second barrier,
// order the other CTAs' stores before this CTA's loads. (The first form, a fence in every thread
// and the verdict in a shared-memory flag, measured the same; this one orders at one point.)
template <class Tile>
__device__ void combine_when_last(const DecodeRouting& routing, const DecodeOutput& out, const WarpPlan& plan,
                                  const float* y, int hidden, int row_block, int expected) {
  __syncthreads();
  const bool last = __syncthreads_or(
      threadIdx.x == 0 && ptx::atomic_add_acq_rel_gpu(out.arrivals + row_block, 1u) == unsigned(expected - 1));
  if (!last) return;
  constexpr int kQuads = Tile::kBlockRows / 4;
  const int first_column = row_block * Tile::kBlockRows;
  for (int i = threadIdx.x; i < routing.num_tokens * kQuads; i += Tile::kThreads) {
    const int token = i / kQuads, column = first_column + (i % kQuads) * 4;
    if (column >= hidden) continue;
    const int first_slot = token * routing.top_k;
    combine_four_columns(y, plan.pair_rows + first_slot, routing.topk_weights + first_slot, routing.top_k, hidden,
                         column, out.out + int64_t(token) * hidden);
  }
}

// Whether a GEMM's outputs get biases. The decode kernels are compiled with the bias code and without
// it (kBias, MTileBias), and a layer without biases runs the kernels without it.
bool has_bias(const GateUpOutput& p) { return p.gate_bias != nullptr || p.up_bias != nullptr; }
bool has_bias(const DownOutput& p) { return p.bias != nullptr; }

// kRowsAfterWait: the kernel reads the ids and streams its first weights before it waits for the
// kernel before, whose output its token rows are. Always GEMM 2 (h). W4A16's GEMM 1 is the forward's
// first kernel and waits before it reads the ids. W4A4's GEMM 1 comes after x's quantization, which
// waited before it let GEMM 1 launch, so the ids are in place and the previous forward's GEMM 2 has
// ended (the counters are free): it waits only before its rows, x quantized, as GEMM 2 does before
// h's. A template parameter: as a runtime choice it cost the bias forms of the K-split GEMM 1 a spill.
// kQuantizesH: W4A4's GEMM 1 with a calibrated h scale, whose epilogue fake-quantizes h (GateUpEpilogue's
// quantizing path, in kernels of their own as in the grouped GEMM).
template <class Tile, DecodeGemm kGemm, bool kBias, bool kRowsAfterWait = kGemm == DecodeGemm::kDown,
          bool kQuantizesH = false>
__global__ void __launch_bounds__(Tile::kThreads, kQuantizesH ? kQuantizingMinCtasPerSm<Tile> : kMmaMinCtasPerSm<Tile>)
    decode_gemm_kernel(PackedExpertWeights w, GemmInput in, DecodeRouting routing,
                       std::conditional_t<kGemm == DecodeGemm::kGateUp, GateUpOutput, DownOutput> params,
                       DecodeOutput out, int row_blocks_2) {
  static_assert(!kQuantizesH || (kGemm == DecodeGemm::kGateUp && kRowsAfterWait), "W4A4's GEMM 1");
  __shared__ WarpPlan plan;
  extern __shared__ __align__(128) char smem[];
  static_assert(kRowsAfterWait || kGemm == DecodeGemm::kGateUp, "GEMM 2's rows are h, GEMM 1's output");
  if constexpr (kGemm == DecodeGemm::kGateUp) {
    if constexpr (!kRowsAfterWait) ptx::wait_for_predecessor();  // the ids and x
    if (blockIdx.x == 0 && blockIdx.y == 0)
      for (int i = threadIdx.x; i < row_blocks_2; i += Tile::kThreads) out.arrivals[i] = 0;
  }
  if (threadIdx.x < 32)
    build_warp_plan(routing.topk_ids, routing.num_tokens * routing.top_k, routing.local_start, routing.num_local,
                    Tile::kBlockTokens, plan);
  __syncthreads();
  if (kGemm == DecodeGemm::kGateUp && out.valid_rows && blockIdx.x == 0 && blockIdx.y == 0 && threadIdx.x == 0)
    *out.valid_rows = plan.num_rows;
  const int tile_index = int(blockIdx.y), row_block = int(blockIdx.x);
  const bool has_tile = tile_index < plan.num_tiles;
  // With no local pair at all, GEMM 2's first tile row still arrives: its combine writes the zeros.
  const bool writes_zeros = kGemm == DecodeGemm::kDown && plan.num_tiles == 0 && tile_index == 0;
  if (!has_tile && !writes_zeros) {
    // GEMM 1's end must still imply its predecessor's (common/launch.h), also where no CTA has a tile.
    if constexpr (kGemm == DecodeGemm::kGateUp && kRowsAfterWait) ptx::wait_for_predecessor();
    return;
  }

  if (has_tile) {
    GemmInput rows = in;
    if constexpr (kGemm == DecodeGemm::kGateUp) rows.gather = plan.sorted_pairs;
    const GemmTile tile = plan.tiles[tile_index];
    MmaAccumulators<Tile> acc;
    zero_accumulators<Tile>(acc);
    MmaMainloop<Tile>(w, rows, tile, row_block, smem).run(acc, [] {
      if constexpr (kRowsAfterWait) ptx::wait_for_predecessor();  // the rows of h, or W4A4's quantized x
    });
    if (MmaMainloop<Tile>::holds_sums()) {
      if constexpr (kGemm == DecodeGemm::kGateUp)
        GateUpEpilogue::apply_form<kBias, Tile, kQuantizesH>(params, tile, row_block, acc);
      else
        DownEpilogue::apply_form<kBias, Tile>(params, tile, row_block, acc);
    }
  } else {
    ptx::wait_for_predecessor();
  }
  if constexpr (kGemm == DecodeGemm::kDown)
    combine_when_last<Tile>(routing, out, plan, params.y, params.hidden, row_block, max(plan.num_tiles, 1));
}

template <DecodeGemm kGemm, class Params>
void launch_decode_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                        const Params& params, const DecodeRouting& routing, const DecodeOutput& out, int row_blocks_2,
                        const Launch& launch) {
  const int pairs = routing.num_tokens * routing.top_k;
  require(pairs >= 1 && pairs <= kWarpPlanMaxPairs, "decode GEMM", "tokens * top_k",
          "1.." + std::to_string(kWarpPlanMaxPairs), pairs);
  bool launched = false;
  visit_compiled_tile(config, [&](auto tile) {
    using Tile = decltype(tile);
    if constexpr (kHasDecodeGemm<Tile>) {
      static_assert(Tile::kSmemBytes + sizeof(WarpPlan) <= 48 * 1024, "within the default shared-memory limit");
      const dim3 grid(unsigned(ceil_div(w.shape.rows, Tile::kBlockRows)),
                      unsigned(max_gemm_tiles(pairs, routing.num_local, Tile::kBlockTokens)));
      // GEMM 2, and W4A4's GEMM 1 (out.valid_rows set, launch_decode_gate_up), after x's quantization.
      constexpr bool kDown = kGemm == DecodeGemm::kDown;
      const bool rows_after_wait = kDown || out.valid_rows != nullptr;
      const auto kernel = [&](auto bias) {
        constexpr bool kBias = decltype(bias)::value;
        if constexpr (!kDown) {
          if (params.h_global_scale > 0.0f) return decode_gemm_kernel<Tile, kGemm, kBias, true, true>;
        }
        return rows_after_wait ? decode_gemm_kernel<Tile, kGemm, kBias, true>
                               : decode_gemm_kernel<Tile, kGemm, kBias, kDown>;
      };
      launch_kernel(has_bias(params) ? kernel(std::true_type{}) : kernel(std::false_type{}), grid, Tile::kThreads,
                    Tile::kSmemBytes, launch, "decode GEMM kernel", w, in, routing, params, out, row_blocks_2);
      launched = true;
    }
  });
  require(launched, "decode GEMM", "tile config", "an mma.sync shape of 8-token blocks", config.block_tokens);
}

}  // namespace

bool has_decode_gemm(const MmaTileConfig& config) {
  bool has = false;
  visit_compiled_tile(config, [&](auto tile) { has = kHasDecodeGemm<decltype(tile)>; });
  return has;
}

int64_t decode_row_blocks(const MmaTileConfig& tile, const PackedExpertWeights& down) {
  return ceil_div(down.shape.rows, tile.block_rows());
}

void launch_decode_gate_up(const MmaTileConfig& tile, const PackedExpertWeights& w, const GemmInput& x,
                           const GateUpOutput& gate_up_out, const DecodeRouting& routing, const DecodeOutput& out,
                           int64_t gemm2_row_blocks, const Launch& launch) {
  check_gate_up_output(tile, gate_up_out);
  require(gate_up_out.h_global_scale == 0.0f || gate_up_out.quantized_input, "decode GEMM",
          "gate_up_out.h_global_scale", "0 in W4A16", gate_up_out.h_global_scale);
  require(gate_up_out.quantized_input == (out.valid_rows != nullptr), "decode GEMM", "out.valid_rows",
          "set exactly in W4A4 (for h's quantization)", out.valid_rows ? "set in W4A16" : "null in W4A4");
  require(gemm2_row_blocks <= decode_arrival_counters(x.k), "decode GEMM", "GEMM 2 row blocks",
          "at most the arrival counters", gemm2_row_blocks);
  launch_decode_gemm<DecodeGemm::kGateUp>(tile, w, x, gate_up_out, routing, out, int(gemm2_row_blocks), launch);
}

void launch_decode_down(const MmaTileConfig& tile, const PackedExpertWeights& w, const GemmInput& h,
                        const DownOutput& down_out, const DecodeRouting& routing, const DecodeOutput& out,
                        const Launch& launch) {
  const int64_t row_blocks = decode_row_blocks(tile, w);
  require(row_blocks <= decode_arrival_counters(down_out.hidden), "decode GEMM", "GEMM 2 row blocks",
          "at most the arrival counters", row_blocks);
  launch_decode_gemm<DecodeGemm::kDown>(tile, w, h, down_out, routing, out, int(row_blocks), launch);
}

}  // namespace fp4moe::cuda
