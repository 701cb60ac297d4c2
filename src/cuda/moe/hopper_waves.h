// The dispatch's model of a Hopper GPU that is not at hand: the resident CTAs per SM of each tile whose
// waves the rules count (moe/dispatch.h's DeviceWaves), as an H200 and an H100 SXM hold them (the same SM).
// The layer counts its own device instead (moe/cuda_layer.cu); tests/cuda/test_occupancy.cpp checks on a
// 132-SM Hopper that the two agree. The dispatch tests and `fp4moe kernels` read the choices through it.
#pragma once
#include "cuda/moe/dispatch.h"

namespace fp4moe::cuda {

inline constexpr int kHopperSms = 132;  // H100 SXM, H200
inline constexpr int64_t kHopperL2Bytes = 50 << 20;  // H100 SXM (an H200 has 60 MiB)

inline DeviceWaves hopper_waves(int sms = kHopperSms) {
  return {{{kDecodeTile, int64_t(sms) * 4},
           {kDecodeTileOneWave, int64_t(sms) * 2},
           {kSmallBatchTile, int64_t(sms) * 8},
           {kSmallBatchTileTwoMTiles, int64_t(sms) * 5}},
          sms, kHopperL2Bytes};
}

}  // namespace fp4moe::cuda
