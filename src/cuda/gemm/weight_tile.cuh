// The weight side of a grouped-GEMM stage: the packed tiles (weight_layout.h) of one CTA's row
// block for one 64-K step, copied to shared memory as codes for every row tile, then scales.
// Both mainloops (mma.sync and wgmma) use it. A row block may run past the packed rows (blocks
// larger than the 128-row padding): those tiles are zero-filled, i.e. exact zero weights, and the
// epilogues drop their rows.
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
    const int64_t first_row_tile = int64_t(row_block) * kRowTiles;
    codes_ = w.codes + expert * w.shape.code_bytes() + first_row_tile * k_tiles_ * kTileCodeBytes;
    scales_ = w.scales + expert * w.shape.scale_bytes() + first_row_tile * k_tiles_ * kTileScaleBytes;
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

}  // namespace fp4moe::cuda
