// Mainloop of the mma.sync grouped GEMM: a kStages-deep cp.async pipeline over K in 64-wide
// steps. Each stage holds the CTA's packed weight tiles and its gathered token rows; warps
// dequantize their weight fragments in registers (format/dequant.cuh) and multiply them, as the
// MMA's A operand, with the token rows as B (so the output is transposed: rows = weight rows).
#pragma once
#include "cuda/common/ptx.cuh"
#include "cuda/common/wgmma.cuh"
#include "cuda/format/dequant.cuh"
#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/mma_tile.h"

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
  static constexpr int kCodeChunks = Tile::kCodeBytes / 16;
  static constexpr int kScaleChunks = Tile::kScaleBytes / 16;
  static constexpr int kActChunks = Tile::kBlockTokens * (Tile::kActRowBytes / 16);
  static constexpr int kActChunksPerThread = (kActChunks + Tile::kThreads - 1) / Tile::kThreads;

 public:
  __device__ MmaMainloop(const PackedExpertWeights& w, const GemmInput& in, const GemmTile& tile, int row_block,
                         char* smem)
      : in_(in), smem_(smem), k_tiles_(int(w.shape.k_tiles())) {
    const int64_t first_row_tile = int64_t(row_block) * (Tile::kBlockRows / kTileRows);
    codes_ = w.codes + tile.expert * w.shape.code_bytes() + first_row_tile * k_tiles_ * kTileCodeBytes;
    scales_ = w.scales + tile.expert * w.shape.scale_bytes() + first_row_tile * k_tiles_ * kTileScaleBytes;
    // The token rows this thread copies never change along K: resolve the gather once.
#pragma unroll
    for (int i = 0; i < kActChunksPerThread; ++i) {
      const int chunk = threadIdx.x + i * Tile::kThreads;
      const int row = chunk / 8;
      act_rows_[i] = nullptr;
      if (chunk < kActChunks && row < tile.rows) {
        const int sorted = tile.row_begin + row;
        const int64_t src_row = in.gather ? in.gather[sorted] / in.top_k : sorted;
        act_rows_[i] = in.rows + src_row * in.k;
      }
    }
  }

  __device__ void run(MmaAccumulators<Tile>& acc) {
    if constexpr (Tile::kWgmma) {
      run_wgmma(acc);
      return;
    }
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

  // 16-byte chunk `chunk` of a token row lives at chunk ^ (row % 8): ldmatrix's 8 row reads of
  // one matrix then hit 8 different bank groups.
  __device__ static int act_offset(int row, int chunk) { return row * Tile::kActRowBytes + ((chunk ^ (row % 8)) * 16); }

  __device__ void load_stage(int stage, int kt) {
    for (int c = threadIdx.x; c < kCodeChunks; c += Tile::kThreads) {
      const int row_tile = c / 32, part = c % 32;
      ptx::cp_async_16(stage_codes(stage) + c * 16,
                       codes_ + (int64_t(row_tile) * k_tiles_ + kt) * kTileCodeBytes + part * 16, true);
    }
    for (int c = threadIdx.x; c < kScaleChunks; c += Tile::kThreads) {
      const int row_tile = c / 4, part = c % 4;
      ptx::cp_async_16(stage_scales(stage) + c * 16,
                       scales_ + (int64_t(row_tile) * k_tiles_ + kt) * kTileScaleBytes + part * 16, true);
    }
#pragma unroll
    for (int i = 0; i < kActChunksPerThread; ++i) {
      const int chunk = threadIdx.x + i * Tile::kThreads;
      if (chunk >= kActChunks) break;
      const int row = chunk / 8, part = chunk % 8;
      const int k = kt * kTileK + part * 8;
      const bool valid = act_rows_[i] != nullptr && k < in_.k;  // K % 16 == 0: chunks never straddle it
      ptx::cp_async_16(stage_act(stage) + act_offset(row, part), valid ? act_rows_[i] + k : in_.rows, valid);
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

  // Hopper: the wgmmas of stage kt are meant to run while the warps dequantize stage kt+1 into the
  // other A register set. Without the operand fences below the compiler reused in-flight A
  // registers (wrong results, caught by the GPU tests); with them ptxas serializes the wgmmas
  // (warning C7513), so the overlap is still to be won, e.g. by warp-specialized dequantization. wait_group<1> at the end of a stage leaves only that stage's group in flight,
  // so after the next barrier the group of stage kt-1 is done everywhere: its A registers and its
  // shared-memory stage are free. Loads therefore run kStages - 2 stages ahead.
  __device__ void run_wgmma(MmaAccumulators<Tile>& acc) {
    constexpr int kAhead = Tile::kStages - 2;
    for (int s = 0; s < kAhead; ++s) {
      if (s < k_tiles_) load_stage(s, s);
      ptx::cp_async_commit();
    }
    uint32_t even[16], odd[16];  // A fragments of even and odd stages (4 k16 steps x 4 registers)
    for (int kt = 0; kt < k_tiles_; kt += 2) {
      wgmma_stage(kt, even, odd, acc);
      if (kt + 1 < k_tiles_) wgmma_stage(kt + 1, odd, even, acc);
    }
    wgmma::wait_group<0>();
    float(&d)[Tile::kNTiles * 4] = reinterpret_cast<float(&)[Tile::kNTiles * 4]>(acc[0]);
    wgmma::fence_operands(d);
    wgmma::fence_operands(even);
    wgmma::fence_operands(odd);
  }

  // One stage of run_wgmma: issue stage kt from `a`, then wait for stage kt-1, whose registers
  // `previous` stay untouched until then.
  __device__ void wgmma_stage(int kt, uint32_t (&a)[16], uint32_t (&previous)[16], MmaAccumulators<Tile>& acc) {
    constexpr int kAhead = Tile::kStages - 2;
    ptx::cp_async_wait<kAhead - 1>();
    wgmma::fence_proxy_async_shared();  // cp.async data -> wgmma reads
    __syncthreads();
    const int next = kt + kAhead;
    if (next < k_tiles_) load_stage(next % Tile::kStages, next);
    ptx::cp_async_commit();
    issue_stage_wgmma(kt % Tile::kStages, reinterpret_cast<uint32_t(&)[4][4]>(a), kt == 0, acc);
    wgmma::wait_group<1>();
    float(&d)[Tile::kNTiles * 4] = reinterpret_cast<float(&)[Tile::kNTiles * 4]>(acc[0]);
    wgmma::fence_operands(d);
    wgmma::fence_operands(previous);
  }

  // Dequantizes this warp's 16 rows for the stage's four k16 steps, then the warpgroup issues the
  // four m64n128k16 wgmmas on the stage's token tile as one group. The first one of the first
  // stage overwrites the accumulators (no zero-fill: any other write to them would make ptxas
  // serialize the wgmmas).
  __device__ void issue_stage_wgmma(int stage, uint32_t (&a)[4][4], bool first_stage,
                                    MmaAccumulators<Tile>& acc) const {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const uint4 codes = *reinterpret_cast<const uint4*>(stage_codes(stage) + warp * kTileCodeBytes + lane * 16);
    const uint2 scales = *reinterpret_cast<const uint2*>(stage_scales(stage) + warp * kTileScaleBytes + (lane / 4) * 8);
    dequant_a_fragment<0>(codes.x, scales.x, scales.y, a[0]);
    dequant_a_fragment<1>(codes.y, scales.x, scales.y, a[1]);
    dequant_a_fragment<2>(codes.z, scales.x, scales.y, a[2]);
    dequant_a_fragment<3>(codes.w, scales.x, scales.y, a[3]);
    float(&d)[Tile::kNTiles * 4] = reinterpret_cast<float(&)[Tile::kNTiles * 4]>(acc[0]);
    const uint64_t desc = wgmma::k_major_sw128_descriptor(stage_act(stage));
    wgmma::fence();
#pragma unroll
    for (int step = 0; step < 4; ++step)  // 16 K = 32 bytes further along the swizzled rows
      wgmma::mma_m64n128k16_bf16_rs(d, a[step], desc + uint64_t((step * 32) >> 4), !(first_stage && step == 0));
    wgmma::commit_group();
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
      ptx::ldmatrix_x4(b[nt], stage_act(stage) + act_offset(row, kPair * 4 + lane / 8));
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
  int k_tiles_;
  const uint8_t* codes_;
  const uint8_t* scales_;
  const bf16* act_rows_[kActChunksPerThread];
};

}  // namespace fp4moe::cuda
