// Host side of the NVFP4-weight grouped GEMMs: out_e = act_rows * W_e^T for every expert's rows,
// driven by the routing plan's tile list. GEMM 1 fuses the gated activation; GEMM 2 writes the
// per-pair FP32 outputs that the combine sums.
#pragma once
#include <cuda_runtime.h>

#include <vector>

#include "cuda/gemm/weight_layout.h"
#include "cuda/quant/quantize.h"
#include "cuda/routing/plan.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::cuda {

// One tile shape of the grouped GEMM. The dispatch table (moe/dispatch.h) picks one per call.
struct MmaTileConfig {
  int warps;       // along N
  int m_tiles;     // 16-row MMA tiles per warp
  int block_tokens;
  int stages;           // shared-memory stages
  int register_stages;  // mma.sync: depth of each warp's register ring of weights; wgmma: 0
  bool wgmma = false;   // Hopper warpgroup MMA (sm_90a) instead of mma.sync
  int split_k = 1;      // mma.sync: K slices per CTA, summed before the epilogue
  int ctas_per_sm = 1;  // wgmma: CTAs one SM holds at once, which the register split is sized for
  constexpr int block_rows() const { return warps * m_tiles * 16; }
  constexpr bool operator==(const MmaTileConfig& o) const {
    return warps == o.warps && m_tiles == o.m_tiles && block_tokens == o.block_tokens && stages == o.stages &&
           register_stages == o.register_stages && wgmma == o.wgmma && split_k == o.split_k &&
           ctas_per_sm == o.ctas_per_sm;
  }
  constexpr bool operator!=(const MmaTileConfig& o) const { return !(*this == o); }
};

struct PackedExpertWeights {
  const uint8_t* codes;   // [experts][shape.code_bytes()]
  const uint8_t* scales;  // [experts][shape.scale_bytes()]
  PackedWeightShape shape;
  int experts;  // in the buffers (the local experts)
  // The wgmma kernels' tensor copies bring these weights into L2 as the first lines to evict
  // (ptx::l2_evict_first_policy; moe/dispatch.h's y_stays_in_l2 says where).
  bool evict_first = false;
  // Row tile `row_tile` of `expert`: its K steps' tiles follow one another (weight_layout.h).
  FP4MOE_HD const uint8_t* row_tile_codes(int expert, int64_t row_tile) const {
    return codes + expert * shape.code_bytes() + row_tile * (int(shape.k_tiles()) * kTileCodeBytes);
  }
  FP4MOE_HD const uint8_t* row_tile_scales(int expert, int64_t row_tile) const {
    return scales + expert * shape.scale_bytes() + row_tile * (int(shape.k_tiles()) * kTileScaleBytes);
  }
};

struct GemmInput {
  const bf16* rows;   // activations, row-major with `k` columns
  int k;              // real K (the weights are padded past it with zeros)
  const int* gather;  // GEMM 1: sorted row -> pair (activation row = pair / top_k); null: row = sorted row
  int top_k;
  int64_t num_rows;   // rows of `rows` (the wgmma kernels' token tensor map spans them)
};

struct GateUpOutput {
  const float* gate_scale_2;  // [experts]
  const float* up_scale_2;    // [experts]
  const float* gate_bias;     // [experts][I], added after the scales, or null: none (as up_bias)
  const float* up_bias;       // [experts][I] or null
  bool quantized_input;           // W4A4: alpha = scale_2 / input global scale; W4A16: scale_2
  GlobalScaleSource input_scale;
  ActivationSpec activation;
  int intermediate;
  bf16* h_bf16;        // W4A16, and W4A4 where the epilogue quantizes h: [rows, I]
  float* h_f32;        // W4A4 otherwise: [rows, I], quantized afterwards by a kernel of its own
  uint32_t* h_amax;    // W4A4 dynamic: amax of h
  float h_global_scale = 0.0f;  // > 0: h's calibrated global scale; the epilogue fake-quantizes h into h_bf16
};

// Whether GEMM 1's epilogue can fake-quantize h itself (GateUpOutput::h_global_scale): each warp's
// 16-row m-tiles hold 8 columns of h (gate and up interleaved by 8), so an NVFP4 block of 16 columns
// is two m-tiles of one warp where it has an even count of them; with one, it spans two warps, which
// exchange their halves' maxima (the mma.sync tiles of one m-tile per warp). The mma.sync tiles run it
// in GEMM 1 kernels of their own (gemm/epilogues.cuh's GateUpQuantizingEpilogue, and the decode
// kernels' quantizing form): in their other kernels its code alone cost registers and resident CTAs.
constexpr bool epilogue_quantizes_h(const MmaTileConfig& c) {
  return c.m_tiles % 2 == 0 || (c.m_tiles == 1 && c.warps % 2 == 0 && !c.wgmma);
}

// GEMM 1's output as both its launchers (this one and decode_gemm.h's) check it: an error unless
// exactly one of h_bf16 and h_f32 is set, and h_bf16 where the epilogue quantizes h, whose tile can.
void check_gate_up_output(const MmaTileConfig& config, const GateUpOutput& out);

struct DownOutput {
  const float* down_scale_2;  // [experts]
  const float* bias;          // [experts][H], added after the scales, or null: none
  bool quantized_input;
  GlobalScaleSource input_scale;
  int hidden;
  float* y;  // [rows, H]
  // The one-tile wgmma kernel's K split over gridDim.z = k_slices CTAs per tile (moe/dispatch.h's
  // gemm2_splits_k); slice s >= 1 writes its partial sum, without the bias, to y_slices + (s - 1) *
  // slice_stride, which the combine adds to y in slice order.
  int k_slices = 1;
  float* y_slices = nullptr;
  int64_t slice_stride = 0;
};

// How a GEMM launch is ordered against the kernel before it in the stream.
// - kAfter, most forward kernels' order (common/launch.h): wait for the predecessor, then let the
//   next kernel launch.
// - kBeside: the predecessor is this GEMM's launch over the plan's large tiles (moe/dispatch.h),
//   which waited for the plan before this launch could start. Its tiles are other rows of the same
//   outputs, so this launch starts at once and runs beside it, and waits for it only at its end:
//   its grid still ends after its predecessor's, so the next kernel's wait covers both.
// - kRowsAfterWait: the predecessor waited for every kernel before it before it let this launch
//   start (W4A4's h quantization, after GEMM 1), so the plan is complete: this launch reads its tile
//   and streams its first weights at once, and waits for the predecessor before its token rows (the
//   predecessor's output), as the decode GEMM 2 does. mma.sync tiles only (in the wgmma tiles one
//   producer pipeline copies both operands).
enum class GemmOrder { kAfter, kBeside, kRowsAfterWait };

// GEMM 1 -> GEMM 2 tile by tile (W4A16 without large tiles, moe/cuda_layer.cu): GEMM 1's CTAs
// count each tile's finished row blocks into `done`; GEMM 2, launched kBeside, waits for its tile's
// count to reach gemm1_row_blocks before it reads the tile's rows of h (its first weights already
// in flight). Its CTAs start on tiles that GEMM 1 finished waves ago instead of waiting for GEMM 1's
// last CTA, and the grid boundary's latency leaves the chain. GEMM 2 cannot wait on a CTA that never
// runs: it launches only once every GEMM 1 CTA has started (programmatic dependent launch), and
// without that, after GEMM 1 has ended.
struct TileHandoff {
  uint32_t* done = nullptr;  // [tiles] routing/plan.h's tile_done, zeroed by the plan; null: none
  int gemm1_row_blocks = 0;  // GEMM 1's row blocks per tile: the count GEMM 2 waits for
};

// The tiles whose GEMM 1 kernel can find its own tiles (OwnTiles; moe/dispatch.h's rule picks among
// them): the small-batch ones, mma.sync on 8-token blocks, without a K split (whose slices may have
// no K step after which to wait).
constexpr bool has_own_tile_kernel(const MmaTileConfig& c) {
  return !c.wgmma && c.split_k == 1 && c.block_tokens == 8;
}

// GEMM 1 finding its own tiles (small batches, moe/dispatch.h): the CTAs of its first wave each work
// out the tile at their grid index from the top-k ids (routing/own_tile.cuh), the same tile the plan
// lists there, and stream its weights while the kernels launched before them still run. In W4A16
// they also gather its rows from x, the caller's, and wait for the plan only after their first K
// steps (gemm/mma_mainloop.cuh); in W4A4 their rows are x quantized by the kernel before, so they
// wait before loading them (GateUpOutput::quantized_input says which). Either way they wait before
// they let GEMM 2 launch (it reads the plan) and before they count their tile done (a counter the
// plan zeroes). GEMM 1 launches once the plan kernel has passed its own wait (the kernels between
// them let their successor launch at once), so the previous forward has ended and the ids and x are
// in place. The later waves start after the plan has ended and read its list, as GEMM 2 and the
// combine do: with every CTA searching, qwen3 at 16-128 tokens (two to seven waves) was 2-5% slower
// (bench/results/h200-own-tiles/every-cta/).
struct OwnTiles {
  const int32_t* topk_ids = nullptr;  // null: the tiles come from the plan's list
  int num_pairs = 0;                  // at most kOwnTileMaxPairs
  int local_start = 0;
  int num_local = 0;
  int64_t first_ctas = 0;  // the CTAs, in launch order, that find their own: a wave (own_tile_ctas_per_sm)
};

// GEMM 2's tiles that can also run persistent (PersistentDown below), every wgmma tile: CTAs
// resident on every SM walk the (token tile, row block) items, each through one ring that carries
// over from item to item (grouped_gemm.cu). Each runs as it is and stores y directly;
// kPersistentDownTile, one CTA per SM, can instead stage y through shared memory, which its idle
// producer warps store while it multiplies the next item, with three stages instead of eight.
// Where each pays is moe/dispatch.h's choice.
inline constexpr MmaTileConfig kPersistentDownTile = {8, 2, 128, 8, 0, true};
constexpr bool has_persistent_down(const MmaTileConfig& c) { return c.wgmma; }

// How GEMM 2 runs: sms 0, one CTA per (tile, row block); else persistent, the device's SMs each
// holding the tile's CTAs per SM, and stage_y (kPersistentDownTile only) its staged form.
struct PersistentDown {
  int sms = 0;
  bool stage_y = false;
};

void launch_gate_up_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                         const RoutingPlan& plan, int64_t max_tiles, const GateUpOutput& out, GemmOrder order,
                         const TileHandoff& handoff, const OwnTiles& own, const Launch& launch);
void launch_down_gemm(const MmaTileConfig& config, const PackedExpertWeights& w, const GemmInput& in,
                      const RoutingPlan& plan, int64_t max_tiles, const DownOutput& out, GemmOrder order,
                      const TileHandoff& handoff, const PersistentDown& persistent, const Launch& launch);

// Raises the dynamic shared-memory limit of every instantiated kernel that fits the current device
// (the wgmma kernels need more than an sm_80 GPU allows a CTA); once per device.
void configure_grouped_gemms();

// How many CTAs of a compiled tile shape fit on one SM of the current device at once (the fewer of
// its two kernels, GEMM 1 and GEMM 2), or with ctas_cap > 0 as launched held to that many
// (common/launch.h's Launch::ctas_per_sm); after configure_grouped_gemms().
int resident_ctas_per_sm(const MmaTileConfig& config, int ctas_cap = 0);

// The same for GEMM 1's kernel of that tile that finds its own tiles (OwnTiles); 0 for a tile
// without one.
int own_tile_ctas_per_sm(const MmaTileConfig& config);

// Every tile shape compiled in (compiled_tiles.h's kMmaTiles): the dispatch table picks among them,
// and a benchmark may force any of them (moe/dispatch.h).
const std::vector<MmaTileConfig>& compiled_gemm_tiles();

}  // namespace fp4moe::cuda
