// Makes one CUDA device current for a scope and restores the caller's afterwards, so that a layer
// built for "cuda:1" allocates and launches there whatever device Python has current. Without the
// CUDA backend it does nothing.
#pragma once

namespace fp4moe::bindings {

// The caller's current CUDA device (0 in a build without CUDA).
int current_cuda_device();

class DeviceGuard {
 public:
  // device < 0 leaves the current device as it is.
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace fp4moe::bindings
