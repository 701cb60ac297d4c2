// An owning byte buffer in a backend's memory space (host memory for kCpu, device memory for
// kCuda): workspaces and staging for the CLI, tests and bindings. Copies and fills are synchronous:
// done on the device when they return, so that work on any stream after them sees them (they go
// through the legacy default stream, which non-blocking streams do not wait for). forward() itself
// never uses this class.
#pragma once
#include <cstddef>
#include <vector>

#include "fp4moe/moe/layer.h"

namespace fp4moe {

class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend backend, size_t bytes);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // A buffer in backend's memory holding a copy of host's elements (a forward's x, ids, weights).
  template <class T>
  static Buffer copy_of(Backend backend, const std::vector<T>& host) {
    Buffer b(backend, host.size() * sizeof(T));
    b.copy_from_host(host.data(), b.size());
    return b;
  }

  void* data() const { return data_; }
  size_t size() const { return size_; }
  Backend backend() const { return backend_; }

  void copy_from_host(const void* src, size_t bytes, size_t offset = 0);
  void copy_to_host(void* dst, size_t bytes, size_t offset = 0) const;
  // The first count elements as T, copied to the host.
  template <class T>
  std::vector<T> to_vector(size_t count) const {
    std::vector<T> host(count);
    copy_to_host(host.data(), count * sizeof(T));
    return host;
  }
  // Sets every byte (NaN-poisoning an output is fill(0xFF)).
  void fill(unsigned char byte);

 private:
  void release();
  Backend backend_ = Backend::kCpu;
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace fp4moe
