// A read-only memory mapping of a whole file (POSIX mmap), released on destruction. Internal to
// the checkpoint readers: safetensors tensors are views into it, never copies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace fp4moe {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws Error naming the path
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void release();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace fp4moe
