// Mainloop of the mma.sync grouped GEMM: a kStages-deep cp.async pipeline over K in 64-wide
// steps. Each stage holds the CTA's packed weight tiles and its gathered token rows; warps
// dequantize their weight fragments in registers (format/dequant.cuh) and multiply them, as the
// MMA's A operand, with the token rows as B (so the output is transposed: rows = weight rows).
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/format/dequant.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/mma_tile.h"
#include "cuda/gemm/token_tile.cuh"
#include "cuda/gemm/weight_tile.cuh"

namespace fp4moe::cuda {

template <class Tile>
using MmaAccumulators = float[Tile::kMTiles][Tile::kNTiles][4];

template <class Tile>
__device__ __forceinline__ void zero_accumulators(MmaAccumulators<Tile>& acc) {
#pragma unroll
  for (int mt = 0; mt < Tile::kMTiles; ++mt)
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;
}

template <class Tile>
class MmaMainloop {
  static constexpr int kActChunks = Tile::kBlockTokens * (kTokenRowBytes / 16);
  static constexpr int kActChunksPerThread = (kActChunks + Tile::kThreads - 1) / Tile::kThreads;

 public:
  __device__ MmaMainloop(const PackedExpertWeights& w, const GemmInput& in, const GemmTile& tile, int row_block,
                         char* smem)
      : in_(in), smem_(smem), weights_(w, tile.expert, row_block), k_tiles_(weights_.k_tiles()) {
    // The token rows this thread copies never change along K: resolve the gather once.
#pragma unroll
    for (int i = 0; i < kActChunksPerThread; ++i) {
      const int chunk = threadIdx.x + i * Tile::kThreads;
      act_rows_[i] = chunk < kActChunks ? tile_token_row(in, tile, chunk / 8) : nullptr;
    }
  }

  __device__ void run(MmaAccumulators<Tile>& acc) {
#pragma unroll
    for (int s = 0; s < Tile::kStages - 1; ++s) {
      if (s < k_tiles_) load_stage(s, s);
      ptx::cp_async_commit();
    }
    for (int kt = 0; kt < k_tiles_; ++kt) {
      ptx::cp_async_wait<Tile::kStages - 2>();
      __syncthreads();  // stage kt landed for every thread; stage kt-1 is free to overwrite
      const int next = kt + Tile::kStages - 1;
      if (next < k_tiles_) load_stage(next % Tile::kStages, next);
      ptx::cp_async_commit();
      compute_stage(kt % Tile::kStages, acc);
    }
  }

 private:
  __device__ char* stage_act(int stage) const { return smem_ + stage * Tile::kStageBytes; }
  __device__ char* stage_codes(int stage) const { return stage_act(stage) + Tile::kActBytes; }
  __device__ char* stage_scales(int stage) const { return stage_codes(stage) + Tile::kCodeBytes; }

  __device__ void load_stage(int stage, int kt) {
    weights_.template copy_stage<Tile::kThreads>(stage_codes(stage), stage_scales(stage), kt, threadIdx.x);
#pragma unroll
    for (int i = 0; i < kActChunksPerThread; ++i) {
      const int chunk = threadIdx.x + i * Tile::kThreads;
      if (chunk >= kActChunks) break;
      copy_token_chunk(stage_act(stage), act_rows_[i], in_, chunk / 8, chunk % 8, kt);
    }
  }

  __device__ void compute_stage(int stage, MmaAccumulators<Tile>& acc) const {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    uint4 codes[Tile::kMTiles];
    uint2 scales[Tile::kMTiles];
#pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) {
      const int tile = warp * Tile::kMTiles + mt;
      codes[mt] = *reinterpret_cast<const uint4*>(stage_codes(stage) + tile * kTileCodeBytes + lane * 16);
      scales[mt] = *reinterpret_cast<const uint2*>(stage_scales(stage) + tile * kTileScaleBytes + (lane / 4) * 8);
    }
    compute_step_pair<0>(stage, codes, scales, acc);
    compute_step_pair<1>(stage, codes, scales, acc);
  }

  // k16 steps 2*kPair and 2*kPair+1: one ldmatrix.x4 per token column gives both steps' B.
  template <int kPair>
  __device__ void compute_step_pair(int stage, const uint4 (&codes)[Tile::kMTiles],
                                    const uint2 (&scales)[Tile::kMTiles], MmaAccumulators<Tile>& acc) const {
    const int lane = threadIdx.x % 32;
    uint32_t b[Tile::kNTiles][4];
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt) {
      const int row = nt * 8 + lane % 8;
      ptx::ldmatrix_x4(b[nt], stage_act(stage) + token_chunk_offset(row, kPair * 4 + lane / 8));
    }
    compute_step<2 * kPair>(codes, scales, b, acc);
    compute_step<2 * kPair + 1>(codes, scales, b, acc);
  }

  // One k16 step: dequantize each m-tile's A fragment, multiply it with every token column.
  template <int kStep>
  __device__ static void compute_step(const uint4 (&codes)[Tile::kMTiles], const uint2 (&scales)[Tile::kMTiles],
                                      const uint32_t (&b)[Tile::kNTiles][4], MmaAccumulators<Tile>& acc) {
    constexpr int kHalf = kStep % 2;  // which ldmatrix half holds this step's B
#pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) {
      const uint32_t word = kStep == 0 ? codes[mt].x : kStep == 1 ? codes[mt].y : kStep == 2 ? codes[mt].z : codes[mt].w;
      uint32_t a[4];
      dequant_a_fragment<kStep>(word, scales[mt].x, scales[mt].y, a);  // .x: row g's scales, .y: row g+8's
#pragma unroll
      for (int nt = 0; nt < Tile::kNTiles; ++nt) {
        const uint32_t bk[2] = {b[nt][2 * kHalf], b[nt][2 * kHalf + 1]};
        ptx::mma_bf16_16816(acc[mt][nt], a, bk);
      }
    }
  }

  GemmInput in_;
  char* smem_;
  WeightBlockSource<Tile::kBlockRows> weights_;
  int k_tiles_;
  const bf16* act_rows_[kActChunksPerThread];
};

}  // namespace fp4moe::cuda
