// The CUDA device of a layer or a workspace: checked and picked (checked_cuda_device), and made
// current for a scope, the caller's restored afterwards (DeviceGuard), so that a layer built for
// "cuda:1" allocates and launches there whatever device Python has current. Without the CUDA
// backend the guard does nothing.
#pragma once

namespace fp4moe::bindings {

// The caller's current CUDA device (0 in a build without CUDA).
int current_cuda_device();

// The device for device="cuda[:N]" of `where` (MoeLayer, Workspace): `requested`, or the current one
// when it is < 0. Throws naming `where` when the build has no CUDA backend or no device is visible,
// before any CUDA call, whose own error ("driver version is insufficient") would not say why.
int checked_cuda_device(int requested, const char* where);

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
