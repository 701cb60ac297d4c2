// GEMM 1's BF16 h tile through shared memory, in the wgmma tiles (one tile per CTA, whose ring is
// free once both consumer warpgroups have left their K loops). Each consumer warp writes its
// m-tiles' columns of h with transposing matrix stores (stmatrix.trans: four 8x8 blocks of eight
// columns by eight tokens per instruction), so that a token's 128 columns lie together; then every
// consumer thread stores 16-byte chunks of whole token rows. Direct stores from the accumulator
// layout are one 2-byte store per value, eight lanes filling half of a 32-byte sector: 64 store
// instructions per thread and 128-token tile against 8 matrix stores, 8 shared loads and 8 16-byte
// global stores here (bench/results/h200-gemm1-epilogue/: the stores bind GEMM 1's epilogue).
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/mma_tile.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::cuda {

template <class Tile>
class StagedH {
  static constexpr int kColumns = Tile::kBlockRows / 2;  // h columns of a row block (gate and up interleaved)
  static constexpr int kRowBytes = kColumns * 2 + 16;    // +16: a matrix store's eight rows hit eight bank groups
  static constexpr int kChunks = kColumns / 8;           // 16-byte chunks per token row
  static constexpr int kThreads = Tile::kWarps * 32;     // the consumer threads, which come first in the CTA
  static constexpr int kBarrier = 2;                     // named barrier of the consumer warps (1: the producers')
  static_assert(Tile::kWgmma && Tile::kSplitK == 1, "the wgmma tiles' one-tile kernel");
  static_assert(Tile::kBlockTokens * kRowBytes <= Tile::kStages * Tile::kStageBytes, "the ring holds the tile");
  static_assert(Tile::kNTiles % 2 == 0, "n-tiles in pairs (x2) or fours (x4)");

 public:
  __device__ explicit StagedH(char* ring) : ring_(ring) {}

  // Every consumer thread, once its K loop is done: value(mt, nt, half) is this thread's h value of
  // m-tile mt, n-tile nt and token column 2*(lane%4) + half (the accumulator layout); the tile's token
  // rows of h, row block row_block's columns, end up in h.
  template <class Value>
  __device__ void write(bf16* h, int intermediate, const GemmTile& tile, int row_block, Value&& value) const {
    begin();
#pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) put(mt, [&](int nt, int half) { return value(mt, nt, half); });
    store(h, intermediate, tile, row_block);
  }

 private:
  // Before the first put(): the other consumer warpgroup may still be reading its last stages.
  __device__ void begin() const { ptx::named_barrier_sync(kBarrier, kThreads); }

  // This thread's values of m-tile mt and the token column pair (2*(lane%4), + 1) of each n-tile:
  // value(nt, half) for every n-tile, packed and stored four n-tiles a matrix store.
  template <class Value>
  __device__ void put(int mt, Value&& value) const {
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
    char* column = ring_ + (warp * Tile::kMTiles + mt) * 16;  // this m-tile's 8 columns
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; nt += 4) {
      if (nt + 4 <= Tile::kNTiles) {
        uint32_t packed[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) packed[i] = pack_bf16x2(value(nt + i, 0), value(nt + i, 1));
        ptx::stmatrix_x4_trans(column + ((nt + lane / 8) * 8 + lane % 8) * kRowBytes, packed);
      } else {
        uint32_t packed[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) packed[i] = pack_bf16x2(value(nt + i, 0), value(nt + i, 1));
        ptx::stmatrix_x2_trans(column + ((nt + lane / 8 % 2) * 8 + lane % 8) * kRowBytes, packed);
      }
    }
  }

  // After the put()s: the tile's token rows of h, row block row_block's columns, 16 bytes a chunk
  // (columns past h and rows past the tile are left alone).
  __device__ void store(bf16* h, int intermediate, const GemmTile& tile, int row_block) const {
    ptx::named_barrier_sync(kBarrier, kThreads);
    const int first_column = row_block * kColumns;
    bf16* rows = h + int64_t(tile.row_begin) * intermediate + first_column;
#pragma unroll
    for (int i = int(threadIdx.x); i < Tile::kBlockTokens * kChunks; i += kThreads) {
      const int token = i / kChunks, chunk = i % kChunks;
      if (token >= tile.rows || first_column + chunk * 8 >= intermediate) continue;
      *reinterpret_cast<uint4*>(rows + int64_t(token) * intermediate + chunk * 8) =
          *reinterpret_cast<const uint4*>(ring_ + token * kRowBytes + chunk * 16);
    }
  }

  char* ring_;
};

}  // namespace fp4moe::cuda
