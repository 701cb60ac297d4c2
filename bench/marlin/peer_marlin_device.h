// The current device's attributes, as the peer's launches size themselves by them (vLLM's torch ops ask
// the same of the tensors' device).
#pragma once
#include <cuda_runtime.h>

namespace peer_marlin {

inline int current_device_attribute(cudaDeviceAttr attribute) {
  int device = 0, value = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&value, attribute, device);
  return value;
}

}  // namespace peer_marlin
