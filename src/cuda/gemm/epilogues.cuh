// Epilogues of the mma.sync grouped GEMM. Accumulator element acc[mt][nt][i] of lane l is
// weight row (warp rows + mt*16 + l/4 + 8*(i/2)) and token (nt*8 + 2*(l%4) + i%2) of the tile.
// The FP32 global scales (weight scale_2, W4A4 activation 1/global_scale) are applied here.
#pragma once
#include <cuda_bf16.h>

#include "cuda/gemm/grouped_gemm.h"
#include "cuda/gemm/mma_mainloop.cuh"
#include "cuda/quant/block_io.cuh"
#include "fp4moe/moe/activation.h"

namespace fp4moe::cuda {

// alpha = scale_2 (W4A16) or scale_2 / activation global scale (W4A4), as the CPU backend does,
// times the exact power of two that undoes the dequantization bias (format/dequant.cuh).
__device__ __forceinline__ float epilogue_alpha(float scale_2, bool quantized_input, const GlobalScaleSource& scale) {
  return (quantized_input ? scale_2 / scale.resolve() : scale_2) * kDequantBias;
}

// GEMM 1: rows are gate/up interleaved by 8 (weight_layout.h), so c0/c1 hold gate(j) and c2/c3
// up(j) for two tokens: the activation needs no data exchange.
struct GateUpEpilogue {
  using Params = GateUpOutput;

  template <class Tile>
  __device__ static void apply(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const float alpha_gate = epilogue_alpha(p.gate_scale_2[tile.expert], p.quantized_input, p.input_scale);
    const float alpha_up = epilogue_alpha(p.up_scale_2[tile.expert], p.quantized_input, p.input_scale);
    float local_amax = 0.0f;
    #pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) {
      const int64_t tile16 = int64_t(row_block) * (Tile::kBlockRows / 16) + warp * Tile::kMTiles + mt;
      const int64_t j = tile16 * 8 + lane / 4;
      #pragma unroll
      for (int nt = 0; nt < Tile::kNTiles; ++nt) {
        #pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int token = nt * 8 + 2 * (lane % 4) + i;
          if (token >= tile.rows || j >= p.intermediate) continue;
          const float h = apply_activation(p.activation, acc[mt][nt][i] * alpha_gate, acc[mt][nt][2 + i] * alpha_up);
          const int64_t index = int64_t(tile.row_begin + token) * p.intermediate + j;
          if (p.h_f32) {
            p.h_f32[index] = h;
            local_amax = nan_max(local_amax, fabsf(h));
          } else {
            p.h_bf16[index] = float_to_bf16(h);
          }
        }
      }
    }
    if (p.h_amax) atomic_max_abs(p.h_amax, local_amax);  // every lane of the warp reaches this
  }
};

// GEMM 2: y[row][n] in FP32, one value per accumulator element.
struct DownEpilogue {
  using Params = DownOutput;

  template <class Tile>
  __device__ static void apply(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const float alpha = epilogue_alpha(p.down_scale_2[tile.expert], p.quantized_input, p.input_scale);
    #pragma unroll
    for (int mt = 0; mt < Tile::kMTiles; ++mt) {
      const int64_t row0 = int64_t(row_block) * Tile::kBlockRows + (warp * Tile::kMTiles + mt) * 16 + lane / 4;
      #pragma unroll
      for (int nt = 0; nt < Tile::kNTiles; ++nt) {
        #pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int token = nt * 8 + 2 * (lane % 4) + i % 2;
          const int64_t n = row0 + 8 * (i / 2);
          if (token < tile.rows && n < p.hidden) p.y[int64_t(tile.row_begin + token) * p.hidden + n] = acc[mt][nt][i] * alpha;
        }
      }
    }
  }
};

}  // namespace fp4moe::cuda
