// Compile-time tile shape of the mma.sync grouped GEMM and the shared-memory plan it implies.
#pragma once
#include "cuda/gemm/weight_layout.h"

namespace fp4moe::cuda {

template <int kWarps_, int kMTiles_, int kBlockTokens_, int kStages_>
struct MmaTile {
  static constexpr int kWarps = kWarps_;      // warps along N, each owning kMTiles x 16 rows
  static constexpr int kMTiles = kMTiles_;
  static constexpr int kBlockTokens = kBlockTokens_;
  static constexpr int kStages = kStages_;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kBlockRows = kWarps * kMTiles * 16;
  static constexpr int kNTiles = kBlockTokens / 8;  // n8 MMA tiles over the tokens

  // One pipeline stage: the CTA's weight tiles (codes, scales) and the token tile, 64 K deep.
  static constexpr int kCodeBytes = kBlockRows / kTileRows * kTileCodeBytes;
  static constexpr int kScaleBytes = kBlockRows / kTileRows * kTileScaleBytes;
  static constexpr int kActRowBytes = kTileK * 2;  // BF16
  static constexpr int kActBytes = kBlockTokens * kActRowBytes;
  static constexpr int kStageBytes = kCodeBytes + kScaleBytes + kActBytes;
  static constexpr int kSmemBytes = kStages * kStageBytes;

  static_assert(kRowPadding % kBlockRows == 0, "row blocks must tile the 128-row padding of the packed weights");
  static_assert(kBlockTokens % 16 == 0 || kBlockTokens == 8, "token block: 8 or a multiple of 16");
  static_assert(kStages >= 2, "the cp.async pipeline needs at least two stages");
  static_assert(kSmemBytes <= 227 * 1024, "shared memory per CTA exceeds the sm_90 limit");
};

}  // namespace fp4moe::cuda
