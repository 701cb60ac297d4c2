// The weight side of a grouped-GEMM K step, the packed tiles of weight_layout.h, two ways:
//  - WeightBlockSource (wgmma): one CTA's row block for one 64-K step, copied to shared memory as
//    codes for every row tile, then scales. A row block may run past the packed rows (blocks
//    larger than the 128-row padding): those tiles are zero-filled, i.e. exact zero weights, and
//    the epilogues drop their rows.
//  - WarpWeightStream (mma.sync): no shared memory. A warp is the only reader of its row tiles, so
//    each lane loads its own fragment bytes straight into registers. At decode the kernels are
//    bound by issuing instructions, and a register load is one instruction where a staged copy
//    costs an LDGSTS with its address math and padding, a shared-memory read back, and its share
//    of the stage barrier.
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/weight_layout.h"

namespace fp4moe::cuda {

template <int kBlockRows>
class WeightBlockSource {
  static constexpr int kRowTiles = kBlockRows / kTileRows;

 public:
  static constexpr int kCodeBytes = kRowTiles * kTileCodeBytes;
  static constexpr int kScaleBytes = kRowTiles * kTileScaleBytes;

  __device__ WeightBlockSource(const PackedExpertWeights& w, int expert, int row_block)
      : k_tiles_(int(w.shape.k_tiles())),
        row_tiles_(int(w.shape.row_tiles() - int64_t(row_block) * kRowTiles)) {
    codes_ = w.row_tile_codes(expert, int64_t(row_block) * kRowTiles);
    scales_ = w.row_tile_scales(expert, int64_t(row_block) * kRowTiles);
  }

  __device__ int k_tiles() const { return k_tiles_; }

  // Thread `thread`'s share of K step kt, with cp.async, when kThreads threads copy the stage.
  template <int kThreads>
  __device__ void copy_stage(char* codes_dst, char* scales_dst, int kt, int thread) const {
    copy_tiles<kTileCodeBytes, kThreads>(codes_dst, codes_, kt, thread);
    copy_tiles<kTileScaleBytes, kThreads>(scales_dst, scales_, kt, thread);
  }

 private:
  // Blocks no larger than the padding never run past the packed rows: no check in their loop.
  static constexpr bool kMayOverrun = kRowPadding % kBlockRows != 0;

  // One kind of tile (codes or scales, kTileBytes each) of every row tile, row tile after row tile.
  // The trip count is a compile-time constant, so the loop unrolls into straight copies.
  template <int kTileBytes, int kThreads>
  __device__ void copy_tiles(char* dst, const uint8_t* src, int kt, int thread) const {
    constexpr int kChunksPerTile = kTileBytes / 16, kChunks = kRowTiles * kChunksPerTile;
#pragma unroll
    for (int i = 0; i < (kChunks + kThreads - 1) / kThreads; ++i) {
      const int c = thread + i * kThreads;
      if (kChunks % kThreads != 0 && c >= kChunks) break;
      const int row_tile = c / kChunksPerTile, part = c % kChunksPerTile;
      const bool valid = !kMayOverrun || row_tile < row_tiles_;
      ptx::cp_async_16(dst + c * 16, valid ? src + (int64_t(row_tile) * k_tiles_ + kt) * kTileBytes + part * 16 : src,
                       valid);
    }
  }

  int k_tiles_;
  int row_tiles_;  // packed row tiles from this block's first on
  const uint8_t* codes_;
  const uint8_t* scales_;
};

// One warp's weights for one 64-K step: per m-tile, the lane's 16 code bytes (its A fragments of
// the four k16 steps) and the 8 scale bytes of its rows g and g+8.
template <int kMTiles>
struct WeightFragments {
  uint4 codes[kMTiles];
  uint2 scales[kMTiles];
};

// A cursor over the warp's K steps: load(ahead) reads step cursor + ahead, advance(steps) moves
// the cursor. With compile-time `ahead` every load is one instruction with an immediate offset.
template <int kMTiles>
class WarpWeightStream {
 public:
  // The warp's m-tiles are row tiles first_row_tile + [0, kMTiles), all inside the packed rows.
  __device__ WarpWeightStream(const PackedExpertWeights& w, int expert, int64_t first_row_tile, int lane)
      : k_tiles_(int(w.shape.k_tiles())) {
    codes_ = w.row_tile_codes(expert, first_row_tile) + lane * 16;
    scales_ = w.row_tile_scales(expert, first_row_tile) + (lane / 4) * 8;
  }

  __device__ void load(int ahead, WeightFragments<kMTiles>& f) const {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
      // Row tile mt starts k_tiles_ K steps after row tile mt - 1 (all K steps of a tile in a row).
      f.codes[mt] = ptx::ld_stream_16(codes_ + (mt * k_tiles_ + ahead) * kTileCodeBytes);
      f.scales[mt] = ptx::ld_stream_8(scales_ + (mt * k_tiles_ + ahead) * kTileScaleBytes);
    }
  }

  __device__ void advance(int steps) {
    codes_ += steps * kTileCodeBytes;
    scales_ += steps * kTileScaleBytes;
  }

 private:
  int k_tiles_;  // K steps of every row tile
  const uint8_t* codes_;  // this lane's bytes of the cursor's K step in its first row tile
  const uint8_t* scales_;
};

}  // namespace fp4moe::cuda
