// The dispatch's model of a Hopper GPU that is not at hand: the resident CTAs per SM of each tile whose
// waves the rules count (moe/dispatch.h's DeviceWaves), as an H200 and an H100 SXM hold them (the same SM),
// and its L2 (50 MiB on an H100 SXM, 60 on an H200).
// The layer counts its own device instead (moe/cuda_layer.cu); tests/cuda/test_occupancy.cpp checks on a
// 132-SM Hopper that the two agree. The dispatch tests and `fp4moe kernels` read the choices through it.
#pragma once
#include "cuda/moe/dispatch.h"

namespace fp4moe::cuda {

inline constexpr int kHopperSms = 132;  // H100 SXM, H200
inline constexpr int kH100L2Mib = 50;
inline constexpr int kH200L2Mib = 60;

// The L2 decides where y stays in it (moe/dispatch.h's y_stays_in_l2); the default is the H100's.
inline DeviceWaves hopper_waves(int sms = kHopperSms, int l2_mib = kH100L2Mib) {
  return {{{kDecodeTile, int64_t(sms) * 4},
           {kDecodeTileOneWave, int64_t(sms) * 2},
           {kSmallBatchTile, int64_t(sms) * 8},
           {kSmallBatchTileTwoMTiles, int64_t(sms) * 5}},
          sms, int64_t(l2_mib) << 20};
}

}  // namespace fp4moe::cuda
