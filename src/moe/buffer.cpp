#include "fp4moe/moe/buffer.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "fp4moe/error.h"

#if FP4MOE_WITH_CUDA
#include "cuda/common/check.h"
#endif

namespace fp4moe {
namespace {

void check_range(size_t offset, size_t bytes, size_t size) {
  require(offset <= size && bytes <= size - offset, "Buffer", "offset + bytes",
          "a range inside the buffer of " + std::to_string(size) + " bytes", std::to_string(offset + bytes));
}

}  // namespace

Buffer::Buffer(Backend backend, size_t bytes) : backend_(backend), size_(bytes) {
  if (bytes == 0) return;
  if (backend == Backend::kCpu) {
    data_ = std::aligned_alloc(256, round_up(int64_t(bytes), 256));
    if (!data_) throw Error("fp4moe: Buffer: host allocation of " + std::to_string(bytes) + " bytes failed");
    return;
  }
#if FP4MOE_WITH_CUDA
  cuda::check_cuda(cudaMalloc(&data_, bytes), "Buffer: cudaMalloc");
#else
  require(false, "Buffer", "backend", "Backend::kCpu (this build has no CUDA backend)", "Backend::kCuda");
#endif
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& other) noexcept
    : backend_(other.backend_), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    backend_ = other.backend_;
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void Buffer::release() {
  if (!data_) return;
  if (backend_ == Backend::kCpu) std::free(data_);
#if FP4MOE_WITH_CUDA
  else cudaFree(data_);
#endif
  data_ = nullptr;
}

void Buffer::copy_from_host(const void* src, size_t bytes, size_t offset) {
  check_range(offset, bytes, size_);
  if (bytes == 0) return;
  char* dst = static_cast<char*>(data_) + offset;
  if (backend_ == Backend::kCpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if FP4MOE_WITH_CUDA
  cuda::check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "Buffer: cudaMemcpy to device");
  // From pageable memory cudaMemcpy may return before its DMA lands, and a non-blocking stream
  // (a CUDA graph's, an engine's) does not wait for the legacy stream it went on.
  cuda::check_cuda(cudaStreamSynchronize(nullptr), "Buffer: cudaMemcpy to device");
#endif
}

void Buffer::copy_to_host(void* dst, size_t bytes, size_t offset) const {
  check_range(offset, bytes, size_);
  if (bytes == 0) return;
  const char* src = static_cast<const char*>(data_) + offset;
  if (backend_ == Backend::kCpu) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if FP4MOE_WITH_CUDA
  cuda::check_cuda(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "Buffer: cudaMemcpy to host");
#endif
}

void Buffer::fill(unsigned char byte) {
  if (!data_) return;
  if (backend_ == Backend::kCpu) {
    std::memset(data_, byte, size_);
    return;
  }
#if FP4MOE_WITH_CUDA
  cuda::check_cuda(cudaMemset(data_, byte, size_), "Buffer: cudaMemset");
  cuda::check_cuda(cudaStreamSynchronize(nullptr), "Buffer: cudaMemset");  // cudaMemset returns before it runs
#endif
}

}  // namespace fp4moe
