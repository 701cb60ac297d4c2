// cudaSetDevice only when the device differs: it is legal during CUDA-graph capture, but a
// needless call would still cost a driver round trip on every forward.
#include "bindings/device_guard.h"

#include <string>

#include "fp4moe/error.h"
#include "fp4moe/moe/layer.h"
#include "moe/backends.h"

#if FP4MOE_WITH_CUDA
#include "cuda/common/check.h"
#endif

namespace fp4moe::bindings {

#if FP4MOE_WITH_CUDA
using cuda::check_cuda;

int current_cuda_device() {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

DeviceGuard::DeviceGuard(int device) {
  if (device < 0) return;
  const int current = current_cuda_device();
  if (current == device) return;
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  previous_ = current;
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) cudaSetDevice(previous_);
}

#else

int current_cuda_device() { return 0; }
DeviceGuard::DeviceGuard(int) {}
DeviceGuard::~DeviceGuard() = default;

#endif

int checked_cuda_device(int requested, const char* where) {
  require(cuda_backend_available(), where, "device",
          FP4MOE_WITH_CUDA ? "a visible CUDA device for device=\"cuda\" (fp4moe.cuda_available() is False)"
                           : "\"cpu\": this build has no CUDA backend (build with FP4MOE_CUDA=ON)",
          "\"cuda\"");
  if (requested < 0) return current_cuda_device();
#if FP4MOE_WITH_CUDA  // (without it the check above has thrown)
  const int devices = cuda_device_count();
  require(requested < devices, where, "device",
          "\"cuda\" or \"cuda:N\" with N one of the " + std::to_string(devices) + " visible devices, 0.." +
              std::to_string(devices - 1),
          "\"cuda:" + std::to_string(requested) + "\"");
#endif
  return requested;
}

}  // namespace fp4moe::bindings
