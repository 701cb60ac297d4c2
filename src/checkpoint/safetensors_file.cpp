// A validated, memory-mapped safetensors file: the header is parsed once at open, and tensors are
// handed out as views into the mapping.
#include <string>

#include "checkpoint/mapped_file.h"
#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/error.h"

namespace fp4moe {

struct SafetensorsFile::Impl {
  explicit Impl(const std::string& p) : path(p), map(p), header(parse_safetensors(map.data(), map.size(), p)) {}
  std::string path;
  MappedFile map;
  SafetensorsHeader header;
};

SafetensorsFile::SafetensorsFile(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}
SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

const std::string& SafetensorsFile::path() const { return impl_->path; }
const SafetensorsHeader& SafetensorsFile::header() const { return impl_->header; }
const TensorInfo* SafetensorsFile::find(std::string_view name) const { return impl_->header.find(name); }
const uint8_t* SafetensorsFile::mapping() const { return impl_->map.data(); }
size_t SafetensorsFile::mapping_size() const { return impl_->map.size(); }

TensorView SafetensorsFile::tensor(std::string_view name) const {
  const TensorInfo* info = find(name);
  require(info != nullptr, "safetensors " + impl_->path, "tensor '" + std::string(name) + "'", "present", "missing");
  return tensor(*info);
}

TensorView SafetensorsFile::tensor(const TensorInfo& info) const {
  // Offsets were checked against the file size by parse_safetensors.
  return TensorView{&info, impl_->map.data() + impl_->header.data_offset + info.begin, &impl_->path};
}

}  // namespace fp4moe
