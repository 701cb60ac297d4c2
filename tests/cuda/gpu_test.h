// Shared pieces of the GPU tests: the visible skip without a device, a device-wide wait.
#pragma once
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include "fp4moe/moe/buffer.h"
#include "fp4moe/moe/layer.h"

#define FP4MOE_REQUIRE_GPU()                                                   \
  if (!fp4moe::cuda_backend_available()) GTEST_SKIP() << "no CUDA device: GPU test skipped"

namespace fp4moe::testing {

inline void sync_device() { ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess); }

}  // namespace fp4moe::testing
