// The weight side of a grouped-GEMM K step, the packed tiles of weight_layout.h, two ways:
//  - WeightBlockSource (wgmma): one CTA's row block for one 64-K step, brought to shared memory by
//    two tensor copies (gemm/tensor_maps.h), codes for every row tile, then scales. A row
//    block may run past the packed rows (blocks larger than the 128-row padding): those tiles
//    arrive as zeros, i.e. exact zero weights, and the epilogues drop their rows.
//  - WarpWeightStream (mma.sync): no shared memory. A warp is the only reader of its row tiles, so
//    each lane loads its own fragment bytes straight into registers. At decode the kernels are
//    bound by issuing instructions, and a register load is one instruction where a staged copy
//    costs an LDGSTS with its address math and padding, a shared-memory read back, and its share
//    of the stage barrier.
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/common/tma.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/weight_layout.h"
#include "cuda/gemm/tensor_maps.h"

namespace fp4moe::cuda {

// kMayEvictFirst: the copies take the evict-first policy where PackedExpertWeights::evict_first says so,
// otherwise the default; without it they are compiled without the policy's branch.
template <int kBlockRows, bool kMayEvictFirst>
class WeightBlockSource {
  static constexpr int kRowTiles = kBlockRows / kTileRows;

 public:
  static constexpr int kCodeBytes = kRowTiles * kTileCodeBytes;
  static constexpr int kScaleBytes = kRowTiles * kTileScaleBytes;
  static constexpr int kBytes = kCodeBytes + kScaleBytes;

  // maps: made for this block size (make_wgmma_tensor_maps(w, kRowTiles, ...)), in parameter memory.
  __device__ WeightBlockSource(const PackedExpertWeights& w, const WgmmaTensorMaps& maps, int expert, int row_block)
      : maps_(&maps),
        k_tiles_(int(w.shape.k_tiles())),
        expert_(expert),
        first_row_tile_(row_block * kRowTiles),
        evict_first_(w.evict_first) {}

  __device__ int k_tiles() const { return k_tiles_; }

  // Before the first copy, by the thread that will issue them.
  __device__ void prefetch_maps() const {
    tma::prefetch_map(&maps_->codes);
    tma::prefetch_map(&maps_->scales);
  }

  // K step kt of the block, by one thread: two copies, which complete kBytes on `full` as they land
  // (the caller's arrival expects them).
  __device__ void copy_stage(char* codes_dst, char* scales_dst, int kt, uint64_t* full) const {
    // Both forms written out: folded into one lambda over an optional policy, the same source made ptxas
    // serialize the 128-token GEMM 1 kernel's wgmmas (C7514) and give it a 640-byte stack frame.
    if (kMayEvictFirst && evict_first_) {
      const uint64_t policy = ptx::l2_evict_first_policy();
      tma::load_4d(codes_dst, &maps_->codes, 0, kt, first_row_tile_, expert_, full, policy);
      tma::load_4d(scales_dst, &maps_->scales, 0, kt, first_row_tile_, expert_, full, policy);
    } else {
      tma::load_4d(codes_dst, &maps_->codes, 0, kt, first_row_tile_, expert_, full);
      tma::load_4d(scales_dst, &maps_->scales, 0, kt, first_row_tile_, expert_, full);
    }
  }

 private:
  const WgmmaTensorMaps* maps_;
  int k_tiles_;
  int expert_;
  int first_row_tile_;
  bool evict_first_;  // PackedExpertWeights::evict_first
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
