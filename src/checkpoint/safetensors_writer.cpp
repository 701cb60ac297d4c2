// Writing safetensors files. The header JSON is produced by nlohmann::json (names sorted, so the
// output is byte-reproducible) and padded with spaces to 8 bytes as the Python writer does.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/error.h"

namespace fp4moe {
namespace {

class OutputFile {
 public:
  explicit OutputFile(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    require(f_ != nullptr, "SafetensorsWriter", path, "a writable file", std::strerror(errno));
  }
  ~OutputFile() {
    if (f_) std::fclose(f_);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const void* data, size_t bytes) {
    if (bytes == 0) return;
    require(std::fwrite(data, 1, bytes, f_) == bytes, "SafetensorsWriter", path_, "a complete write",
            std::strerror(errno));
  }
  void close() {
    const int rc = std::fclose(std::exchange(f_, nullptr));
    require(rc == 0, "SafetensorsWriter", path_, "a successful close", std::strerror(errno));
  }

 private:
  std::string path_;
  FILE* f_;
};

std::string header_json(const std::map<std::string, std::string>& metadata, const nlohmann::json& tensors) {
  nlohmann::json root = tensors;
  if (!metadata.empty()) root["__metadata__"] = metadata;
  std::string text = root.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

void SafetensorsWriter::add(const std::string& name, DType dtype, const std::vector<int64_t>& shape, const void* data,
                            size_t bytes) {
  Entry entry;
  entry.info.name = name;
  entry.info.dtype = dtype;
  entry.info.shape = shape;
  entry.data = data;
  add_entry(std::move(entry), bytes);
}

void SafetensorsWriter::add_owned(const std::string& name, DType dtype, const std::vector<int64_t>& shape,
                                  std::vector<uint8_t> data) {
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(data));
  Entry entry;
  entry.info.name = name;
  entry.info.dtype = dtype;
  entry.info.shape = shape;
  entry.data = owned->data();
  entry.owned = owned;
  add_entry(std::move(entry), owned->size());
}

void SafetensorsWriter::add_entry(Entry entry, size_t bytes) {
  const std::string what = "tensor '" + entry.info.name + "'";
  require(!entry.info.name.empty() && entry.info.name != "__metadata__", "SafetensorsWriter", what,
          "a non-empty name other than __metadata__", entry.info.name);
  require(!names_.count(entry.info.name), "SafetensorsWriter", what, "a name not added before", "a duplicate");
  for (int64_t d : entry.info.shape) require(d >= 0, "SafetensorsWriter", what, "non-negative dims", d);
  const int64_t numel = entry.info.numel();
  const uint64_t expected = uint64_t(numel) * dtype_bits(entry.info.dtype) / 8;
  require(
      numel >= 0 && bytes == expected, "SafetensorsWriter", what + " bytes",
      std::to_string(expected) + " for " + std::string(to_string(entry.info.dtype)) + " " + entry.info.shape_string(),
      bytes);
  require(bytes == 0 || entry.data != nullptr, "SafetensorsWriter", what + " data", "a non-null pointer", "null");
  entry.info.begin = data_bytes_;
  entry.info.end = data_bytes_ + bytes;
  data_bytes_ = entry.info.end;
  names_.insert(entry.info.name);
  entries_.push_back(std::move(entry));
}

void SafetensorsWriter::write(const std::string& path) const {
  nlohmann::json tensors = nlohmann::json::object();
  for (const auto& e : entries_) {
    tensors[e.info.name] = {{"dtype", std::string(to_string(e.info.dtype))},
                            {"shape", e.info.shape},
                            {"data_offsets", {e.info.begin, e.info.end}}};
  }
  const std::string header = header_json(metadata_, tensors);
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = uint8_t(uint64_t(header.size()) >> (8 * i));

  const std::string tmp = path + ".tmp";
  try {
    OutputFile out(tmp);
    out.write(length, sizeof(length));
    out.write(header.data(), header.size());
    for (const auto& e : entries_) out.write(e.data, e.info.bytes());
    out.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  require(!ec, "SafetensorsWriter", path, "a successful rename from " + tmp, ec.message());
}

}  // namespace fp4moe
