#include "bindings/shared_workspace.h"

#include <string>

#include "bindings/device_guard.h"
#include "fp4moe/error.h"

namespace fp4moe::bindings {
namespace {

std::string device_name(Backend backend, int cuda_device) {
  return backend == Backend::kCuda ? "cuda:" + std::to_string(cuda_device) : "cpu";
}

}  // namespace

SharedWorkspace::SharedWorkspace(Backend backend, int cuda_device, size_t bytes)
    : backend_(backend), device_(backend == Backend::kCuda ? cuda_device : -1) {
  DeviceGuard guard(device_);
  buffer_ = Buffer(backend_, bytes);
}

SharedWorkspace::~SharedWorkspace() {
  // Device memory is freed with its device current, whatever Python has current now.
  DeviceGuard guard(device_);
  buffer_ = Buffer();
}

std::string SharedWorkspace::device_name() const { return bindings::device_name(backend_, device_); }

void SharedWorkspace::reserve(size_t bytes, Backend backend, int cuda_device, const char* where) {
  const int device = backend == Backend::kCuda ? cuda_device : -1;
  require(backend == backend_ && device == device_, where, "workspace",
          "an fp4moe.Workspace on the layer's device " + bindings::device_name(backend, device),
          "one on " + device_name());
  if (bytes <= buffer_.size()) return;
  require(!used_, where, "workspace",
          "an fp4moe.Workspace of at least " + std::to_string(bytes) +
              " bytes, or one no forward has run on yet (it would have to grow, and a CUDA graph "
              "captured on an earlier forward would keep its old address); create every layer that "
              "shares it before the first forward, or size it with fp4moe.Workspace(nbytes=...)",
          std::to_string(buffer_.size()) + " bytes, already used by a forward");
  DeviceGuard guard(device_);
  const size_t old_size = buffer_.size();
  buffer_ = Buffer();  // freed first: the old and the new buffer need not fit side by side
  try {
    buffer_ = Buffer(backend_, bytes);
  } catch (const Error&) {
    buffer_ = Buffer(backend_, old_size);  // the layers that reserved it before keep what they had
    throw;
  }
}

void* SharedWorkspace::use(size_t bytes) {
  require(bytes <= buffer_.size(), "MoeLayer.run", "workspace",
          "a workspace of at least " + std::to_string(bytes) + " bytes", std::to_string(buffer_.size()));
  used_ = true;
  return buffer_.data();
}

}  // namespace fp4moe::bindings
