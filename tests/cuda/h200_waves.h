// The dispatch tests model an H200 (132 SMs): moe/hopper_waves.h's resident CTAs of the tiles whose waves
// the dispatch counts. test_occupancy.cpp checks on a 132-SM Hopper that the layer's own count agrees.
#pragma once
#include "cuda/moe/hopper_waves.h"

namespace fp4moe::cuda::testing {

inline DeviceWaves h200_waves() { return hopper_waves(kHopperSms); }

}  // namespace fp4moe::cuda::testing
