// The scratch memory of one or more Python layers (fp4moe.Workspace). A forward leaves nothing in a
// workspace for the next (fp4moe/moe/layer.h), so the MoE layers of a model whose forwards run one
// after another can share one buffer instead of holding one each for max_tokens: at DeepSeek-V3's
// sizes a CUDA layer's workspace for 8192 tokens is 3.1 GB (W4A16), and the model has 58 MoE layers.
//
// Each layer reserves what it needs when it is created, and the buffer grows to the largest
// request. It never grows once a forward has used it: a CUDA graph captured on that forward would
// keep the old address, so a layer created later that needs more is refused.
#pragma once
#include <cstddef>
#include <string>

#include "fp4moe/moe/buffer.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe::bindings {

class SharedWorkspace {
 public:
  // cuda_device: the device of a kCuda workspace (>= 0); ignored for kCpu. `bytes` are allocated now.
  SharedWorkspace(Backend backend, int cuda_device, size_t bytes = 0);
  ~SharedWorkspace();
  SharedWorkspace(const SharedWorkspace&) = delete;
  SharedWorkspace& operator=(const SharedWorkspace&) = delete;

  Backend backend() const { return backend_; }
  int cuda_device() const { return device_; }
  // "cpu" or "cuda:N", as fp4moe.MoeLayer.device writes it.
  std::string device_name() const;
  size_t size() const { return buffer_.size(); }
  bool used() const { return used_; }

  // Grows the buffer to at least `bytes` for a layer being created on (backend, cuda_device); throws
  // naming `where` when that is another device or the buffer would grow after a forward used it.
  void reserve(size_t bytes, Backend backend, int cuda_device, const char* where);

  // The buffer, for a forward that needs `bytes` of it; from here on it keeps its address.
  void* use(size_t bytes);

 private:
  Backend backend_;
  int device_;
  Buffer buffer_;
  bool used_ = false;
};

}  // namespace fp4moe::bindings
