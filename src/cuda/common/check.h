// CUDA runtime error handling for host code: every runtime call and kernel launch is checked and a
// failure becomes an fp4moe::Error naming what was being done.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "fp4moe/error.h"

namespace fp4moe::cuda {

inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("fp4moe: CUDA: ") + what + ": " + cudaGetErrorString(status));
}

// After a kernel launch: reports launch-configuration errors without synchronizing.
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

}  // namespace fp4moe::cuda
