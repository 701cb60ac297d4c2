// cudaSetDevice only when the device differs: it is legal during CUDA-graph capture, but a
// needless call would still cost a driver round trip on every forward.
#include "bindings/device_guard.h"

#include <string>

#include "fp4moe/error.h"
#include "fp4moe/moe/layer.h"

#if FP4MOE_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace fp4moe::bindings {

#if FP4MOE_WITH_CUDA
namespace {

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("fp4moe: ") + what + ": " + cudaGetErrorString(status));
}

}  // namespace

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
  return requested >= 0 ? requested : current_cuda_device();
}

}  // namespace fp4moe::bindings
