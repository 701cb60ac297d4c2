// Shared pieces of the GPU tests: the visible skip without a device, device buffers of vectors.
#pragma once
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "fp4moe/moe/buffer.h"
#include "fp4moe/moe/layer.h"

#define FP4MOE_REQUIRE_GPU()                                                   \
  if (!fp4moe::cuda_backend_available()) GTEST_SKIP() << "no CUDA device: GPU test skipped"

namespace fp4moe::testing {

template <class T>
Buffer to_device(const std::vector<T>& host) {
  Buffer b(Backend::kCuda, host.size() * sizeof(T));
  b.copy_from_host(host.data(), host.size() * sizeof(T));
  return b;
}

template <class T>
std::vector<T> to_host(const Buffer& b, size_t count) {
  std::vector<T> host(count);
  b.copy_to_host(host.data(), count * sizeof(T));
  return host;
}

inline void sync_device() { ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess); }

}  // namespace fp4moe::testing
