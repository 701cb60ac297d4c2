// Compile-time tile shape of the grouped GEMM, which tensor-core instruction it uses (mma.sync,
// any sm_80+, or Hopper's warpgroup wgmma), and the shared-memory plan it implies.
#pragma once
#include "cuda/gemm/weight_layout.h"

namespace fp4moe::cuda {

// kStages: shared-memory stages (64 K each) in flight. kRegisterStages (mma.sync only): the depth
// of each warp's register ring of weight fragments (gemm/mma_mainloop.cuh); wgmma tiles stage their
// weights in shared memory instead and have 0. kSplitK (mma.sync only): K slices per CTA; each slice
// is kWarps warps over the CTA's rows and a contiguous share of K, with its own token stages, and
// the slices' accumulators are summed in shared memory before the epilogue. It shortens each warp's
// chain of K steps where a batch has too few rows to give every scheduler several warps.
// kCtasPerSm (wgmma only): the CTAs one SM holds at once. The consumers' share of the registers
// is sized for it (gemm/wgmma_pipeline.cuh); a small token tile needs few accumulators, and a
// second CTA per SM streams its weights while the first fills its ring or runs its epilogue.
template <int kWarps_, int kMTiles_, int kBlockTokens_, int kStages_, int kRegisterStages_, bool kWgmma_ = false,
          int kSplitK_ = 1, int kCtasPerSm_ = 1>
struct MmaTile {
  static constexpr bool kWgmma = kWgmma_;
  static constexpr int kWarps = kWarps_;      // MMA warps along N, each owning kMTiles x 16 rows
  static constexpr int kMTiles = kMTiles_;
  static constexpr int kBlockTokens = kBlockTokens_;
  static constexpr int kStages = kStages_;
  static constexpr int kRegisterStages = kRegisterStages_;
  static constexpr int kSplitK = kSplitK_;
  static constexpr int kCtasPerSm = kCtasPerSm_;
  // wgmma tiles add producer warps after the MMA warps (gemm/wgmma_pipeline.cuh), a warpgroup, or
  // two in the 128-token tile: there one warpgroup gathering GEMM 1's token rows (eight cp.async
  // per thread and stage) kept the consumers waiting for full stages (Nsight Compute, qwen3 16384
  // tokens: 9% of their samples), and a second cut GEMM 1 by up to 5% (bench/results/h200-producers8/).
  // In mma.sync tiles every warp both copies and multiplies.
  static constexpr int kProducerWarps = kWgmma ? (kBlockTokens == 128 ? 8 : 4) : 0;
  static constexpr int kThreads = (kWarps * kSplitK + kProducerWarps) * 32;
  static constexpr int kBlockRows = kWarps * kMTiles * 16;
  static constexpr int kNTiles = kBlockTokens / 8;  // n8 MMA tiles over the tokens

  // One pipeline stage, 64 K deep: the token tile first (gemm/token_tile.cuh), then, for wgmma, the
  // CTA's weight tiles (the mma.sync warps stream theirs into registers instead). wgmma reads the
  // token tile through a descriptor that wants 1024-byte alignment; the mma.sync kernels need 16
  // bytes, and padding their small decode stages to 1024 cost an SM two of its resident CTAs.
  static constexpr int kStageAlign = kWgmma ? 1024 : 128;
  static constexpr int kActBytes = kBlockTokens * kTileK * 2;  // BF16
  static constexpr int kCodeBytes = kWgmma ? kBlockRows / kTileRows * kTileCodeBytes : 0;  // = WeightBlockSource's
  static constexpr int kScaleBytes = kWgmma ? kBlockRows / kTileRows * kTileScaleBytes : 0;
  static constexpr int kStageBytes =
      (kActBytes + kCodeBytes + kScaleBytes + kStageAlign - 1) / kStageAlign * kStageAlign;
  static constexpr int kBarrierBytes = kWgmma ? 2 * kStages * 8 : 0;  // full and empty mbarrier per stage
  static constexpr int kRowTableBytes = kWgmma ? kBlockTokens * 8 : 0;  // the producers' token row pointers
  // Slices 1.. hand their FP32 accumulators to slice 0 through shared memory, after the K loop.
  static constexpr int kReductionBytes = (kSplitK - 1) * kWarps * 32 * kMTiles * kNTiles * 4 * 4;
  static constexpr int kSmemBytes = kSplitK * kStages * kStageBytes + kBarrierBytes + kRowTableBytes + kReductionBytes;

  static_assert(kBlockTokens % 16 == 0 || kBlockTokens == 8, "token block: 8 or a multiple of 16");
  static_assert(kStages >= 2, "the pipeline needs two stages");
  static_assert(kWgmma ? kRegisterStages == 0 : kRegisterStages >= 1 && kStages % kRegisterStages == 0,
                "mma.sync: a register ring whose depth divides the stages (the K loop unrolls by kStages)");
  static_assert(kSplitK >= 1 && kSplitK <= 15 && (kSplitK == 1 || !kWgmma),
                "split K: mma.sync tiles only, one named barrier (1..15) per slice");
  static_assert(kSmemBytes <= 227 * 1024, "shared memory per CTA exceeds the sm_90 limit");
  // 228 KiB per SM, of which each CTA reserves 1 KiB.
  static_assert(kCtasPerSm == 1 || (kWgmma && kCtasPerSm * (kSmemBytes + 1024) <= 228 * 1024),
                "several CTAs per SM: wgmma tiles whose shared memory fits that many times");
  static_assert(!kWgmma || (kWarps % 4 == 0 && (kBlockTokens == 128 || kBlockTokens == 64 || kBlockTokens == 48 ||
                                                 kBlockTokens == 32)),
                "wgmma tiles: whole warpgroups, an m64nNk16 instruction with N = 128, 64, 48 or 32");
};

// 32-bit registers an SM holds (sm_80 and sm_90), which the CTAs resident on it share.
inline constexpr int kSmRegisters = 65536;

// The CTAs per SM that ptxas must fit an mma.sync tile's kernels for (__launch_bounds__'s minimum;
// 0 leaves the registers to ptxas). The K-split decode tiles get 64 registers a thread per m-tile:
// the wave rules count the CTAs per SM they hold (moe/dispatch.h, GpuOccupancy), and left to itself
// ptxas took them to 65-66 once the mainloop's resident token rows served slices of any length,
// which cost the two-slice tile one of its four CTAs per SM and moved the dispatch's choices. On
// the other tiles a minimum of 1 made ptxas spend up to 153 registers.
template <class Tile>
constexpr int kMmaMinCtasPerSm =
    !Tile::kWgmma && Tile::kSplitK > 1 ? kSmRegisters / (Tile::kThreads * 64 * Tile::kMTiles) : 0;

// The same for GEMM 1's kernels that quantize h (gemm/epilogues.cuh's GateUpQuantizingEpilogue, the
// decode kernels' kQuantizesH): the CTAs per SM of the tile's other kernels. Left to itself ptxas took
// the 8-token tile of two m-tiles from their 96 registers to 126 there (five CTAs per SM to four); held
// to 96 they do not spill. Its other kernels keep 0: a minimum of 5 leaves them at 96 registers too but
// schedules them otherwise, and they were measured as they are.
template <class Tile>
constexpr int kQuantizingMinCtasPerSm = !Tile::kWgmma && Tile::kSplitK == 1 && Tile::kBlockTokens == 8 &&
                                                Tile::kMTiles == 2
                                            ? kSmRegisters / (Tile::kThreads * 96)
                                            : kMmaMinCtasPerSm<Tile>;

}  // namespace fp4moe::cuda
