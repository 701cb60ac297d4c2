// Which kernels the CUDA layer picks on this device: for tests that must know that a rule applies,
// or they would check nothing.
#pragma once
#include <cuda_runtime.h>

#include <optional>

#include "cuda/common/check.h"
#include "cuda/moe/dispatch.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::testing {

inline int64_t gate_up_rows(const MoeConfig& c) {
  return cuda::packed_weight_shape(cuda::WeightRole::kGateUp, c.hidden, c.intermediate).rows;
}
inline int64_t down_rows(const MoeConfig& c) {
  return cuda::packed_weight_shape(cuda::WeightRole::kDown, c.hidden, c.intermediate).rows;
}

// Whether the current device runs the wgmma kernels (Hopper); a failing cudaGetDevice throws.
inline bool on_hopper() {
  int device = 0;
  cuda::check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  return cuda::device_is_hopper(device);
}

// The kernels a CUDA layer on this device picks for a batch (after a layer was created); h_calibrated: W4A4 with
// calibrated input scales.
inline cuda::ForwardKernels chosen_kernels(const MoeConfig& c, int tokens, bool h_calibrated = false) {
  int device = 0;
  cuda::check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  return cuda::choose_kernels(tokens, c, cuda::device_is_hopper(device), std::nullopt, gate_up_rows(c), down_rows(c),
                              cuda::device_waves_of(device), h_calibrated);
}

}  // namespace fp4moe::testing
