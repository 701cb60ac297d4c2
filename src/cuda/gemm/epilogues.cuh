// Epilogues of the grouped GEMMs (both mainloops). Accumulator element acc[mt][nt][i] of lane l is
// weight row (warp rows + mt*16 + l/4 + 8*(i/2)) and token (nt*8 + 2*(l%4) + i%2) of the tile.
// The FP32 global scales (weight scale_2, W4A4 activation 1/global_scale) are applied here.
#pragma once
#include <cuda_bf16.h>

#include <type_traits>

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

// Visits this thread's accumulators of the CTA tile as visit(tile16, token, lo, hi): tile16 is the
// 16-row weight tile (counted over the whole matrix), token the tile's token column, lo the value
// at row lane/4 of that 16-row tile and hi the one 8 rows below. Both the mma.sync and the wgmma
// mainloop leave their accumulators in this (m16n8k16) layout.
template <class Tile, class Visit>
__device__ __forceinline__ void for_each_accumulator_pair(int row_block, const MmaAccumulators<Tile>& acc,
                                                          Visit&& visit) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int mt = 0; mt < Tile::kMTiles; ++mt) {
    const int64_t tile16 = int64_t(row_block) * (Tile::kBlockRows / 16) + warp * Tile::kMTiles + mt;
#pragma unroll
    for (int nt = 0; nt < Tile::kNTiles; ++nt)
#pragma unroll
      for (int half = 0; half < 2; ++half)
        visit(tile16, nt * 8 + 2 * (lane % 4) + half, acc[mt][nt][half], acc[mt][nt][2 + half]);
  }
}

// Calls f(kind) with kind a std::integral_constant of spec.kind, so that an unrolled loop over the
// accumulators inlines one activation: switching per element made GEMM 1's wgmma epilogue 380 KB
// of SASS, and its warps spent a fifth of their time waiting for instruction fetch (Nsight Compute,
// qwen3-30b-a3b at 4096 tokens).
template <class F>
__device__ __forceinline__ void with_activation_kind(Activation kind, F&& f) {
  switch (kind) {
    case Activation::kSilu: return f(std::integral_constant<Activation, Activation::kSilu>{});
    case Activation::kSiluClamped: return f(std::integral_constant<Activation, Activation::kSiluClamped>{});
    case Activation::kSwigluOai: return f(std::integral_constant<Activation, Activation::kSwigluOai>{});
    case Activation::kGeluTanh: return f(std::integral_constant<Activation, Activation::kGeluTanh>{});
  }
}

// GEMM 1: rows are gate/up interleaved by 8 (weight_layout.h), so a pair holds gate(j) and up(j)
// of one token: the activation needs no data exchange. The activation and the output type are
// chosen once per tile, outside the unrolled loop.
struct GateUpEpilogue {
  using Params = GateUpOutput;

  template <class Tile>
  __device__ static void apply(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc) {
    float amax = 0.0f;
    with_activation_kind(p.activation.kind, [&](auto kind) {
      constexpr Activation kKind = decltype(kind)::value;
      amax = p.h_f32 ? store<kKind, Tile>(p, p.h_f32, tile, row_block, acc)
                     : store<kKind, Tile>(p, p.h_bf16, tile, row_block, acc);
    });
    if (p.h_amax) atomic_max_abs(p.h_amax, amax);  // every lane of the warp reaches this
  }

 private:
  // Writes h = act(gate, up) of this thread's accumulators to `h` (FP32 or BF16); returns the
  // largest |h| written (NaN if any is).
  template <Activation kKind, class Tile, class Out>
  __device__ static float store(const Params& p, Out* h, const GemmTile& tile, int row_block,
                                const MmaAccumulators<Tile>& acc) {
    ActivationSpec activation = p.activation;
    activation.kind = kKind;  // a constant: apply_activation's switch folds away
    const int lane = threadIdx.x % 32;
    const float alpha_gate = epilogue_alpha(p.gate_scale_2[tile.expert], p.quantized_input, p.input_scale);
    const float alpha_up = epilogue_alpha(p.up_scale_2[tile.expert], p.quantized_input, p.input_scale);
    float amax = 0.0f;
    for_each_accumulator_pair<Tile>(row_block, acc, [&](int64_t tile16, int token, float gate, float up) {
      const int64_t j = tile16 * 8 + lane / 4;
      if (token >= tile.rows || j >= p.intermediate) return;
      const float value = apply_activation(activation, gate * alpha_gate, up * alpha_up);
      const int64_t index = int64_t(tile.row_begin + token) * p.intermediate + j;
      if constexpr (std::is_same_v<Out, float>) {
        h[index] = value;
        amax = nan_max(amax, fabsf(value));
      } else {
        h[index] = float_to_bf16(value);
      }
    });
    return amax;
  }
};

// GEMM 2: y[row][n] in FP32, one value per accumulator element.
struct DownEpilogue {
  using Params = DownOutput;

  template <class Tile>
  __device__ static void apply(const Params& p, const GemmTile& tile, int row_block, MmaAccumulators<Tile>& acc) {
    const int lane = threadIdx.x % 32;
    const float alpha = epilogue_alpha(p.down_scale_2[tile.expert], p.quantized_input, p.input_scale);
    for_each_accumulator_pair<Tile>(row_block, acc, [&](int64_t tile16, int token, float lo, float hi) {
      if (token >= tile.rows) return;
      const int64_t n = tile16 * 16 + lane / 4;
      float* y_row = p.y + int64_t(tile.row_begin + token) * p.hidden;
      if (n < p.hidden) y_row[n] = lo * alpha;
      if (n + 8 < p.hidden) y_row[n + 8] = hi * alpha;
    });
  }
};

}  // namespace fp4moe::cuda
