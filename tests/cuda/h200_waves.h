// The resident CTAs of an H200 (132 SMs) for the tiles whose waves the dispatch counts (moe/dispatch.h's
// DeviceWaves), as the dispatch tests model that GPU. The layer takes the same figures from its
// device (moe/cuda_layer.cu); test_occupancy.cpp checks on a 132-SM Hopper that the two agree.
#pragma once
#include "cuda/moe/dispatch.h"

namespace fp4moe::cuda::testing {

inline DeviceWaves h200_waves() {
  return {{{kDecodeTile, 132 * 4},
           {kDecodeTileOneWave, 132 * 2},
           {kSmallBatchTile, 132 * 8},
           {kSmallBatchTileTwoMTiles, 132 * 5}}};
}

}  // namespace fp4moe::cuda::testing
