// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the
// data. Reading maps the file and validates the whole header before any tensor is handed out, so a
// hostile file gets an Error naming the file and the tensor, never a crash or a partial load.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fp4moe {

// Element types, spelled as in safetensors ("U8", "F8_E4M3", "BF16", ...).
enum class DType : uint8_t {
  kBool,
  kU8,
  kI8,
  kU16,
  kI16,
  kU32,
  kI32,
  kU64,
  kI64,
  kF4,  // E2M1, two per byte (safetensors >= 0.6)
  kF6E2M3,
  kF6E3M2,
  kF8E4M3,
  kF8E5M2,
  kF8E8M0,
  kF16,
  kBF16,
  kF32,
  kF64,
};

int dtype_bits(DType dtype);
std::string_view to_string(DType dtype);
// False for a name safetensors does not define.
bool parse_dtype(std::string_view name, DType* dtype);

// The Python safetensors limit: a header longer than this is rejected before it is read.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype = DType::kU8;
  std::vector<int64_t> shape;  // [] is a scalar
  uint64_t begin = 0;          // byte offsets relative to the start of the data section
  uint64_t end = 0;

  int64_t numel() const;
  uint64_t bytes() const { return end - begin; }
  std::string shape_string() const;  // "[2, 3]"
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // 8 + header length: where the data section starts in the file

  const TensorInfo* find(std::string_view name) const;
};

// Parses and validates a whole file image: header length bounded (by the file and by
// kMaxSafetensorsHeaderBytes), JSON well formed (no duplicate names, nothing nested past the
// format), every dtype known, shapes non-negative and not overflowing, data_offsets inside the
// data section, sized dtype_bits * numel, and no two non-empty tensors overlapping. Throws Error
// naming `file_name` and the tensor. The fuzz target calls exactly this.
SafetensorsHeader parse_safetensors(const uint8_t* file, size_t file_size, std::string_view file_name);

// A tensor's bytes inside a mapped file. `data` is not aligned beyond what the file gives (the
// Python writer pads the header to 8 bytes; others may not): read wide types with memcpy.
struct TensorView {
  const TensorInfo* info = nullptr;
  const uint8_t* data = nullptr;
  const std::string* file = nullptr;  // path of the file it lives in, for error messages
};

// One memory-mapped, validated safetensors file. Tensor data is never copied.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;

  const std::string& path() const;
  const SafetensorsHeader& header() const;
  const TensorInfo* find(std::string_view name) const;
  TensorView tensor(std::string_view name) const;  // throws naming the file and the tensor
  TensorView tensor(const TensorInfo& info) const;
  // The whole mapping, for tests that check views point into it.
  const uint8_t* mapping() const;
  size_t mapping_size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Builds a safetensors file. The header is padded with spaces to 8 bytes (as the Python writer
// does) so that every tensor starts 8-byte aligned when offsets are; tensors are laid out in the
// order added. write() goes through a temporary file and a rename: `path` never holds a partial file.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  // `data` (`bytes` long, which must equal dtype_bits * numel / 8) must stay valid until write().
  void add(const std::string& name, DType dtype, const std::vector<int64_t>& shape, const void* data, size_t bytes);
  void add_owned(const std::string& name, DType dtype, const std::vector<int64_t>& shape, std::vector<uint8_t> data);
  void write(const std::string& path) const;
  size_t size() const { return entries_.size(); }
  uint64_t data_bytes() const { return data_bytes_; }

 private:
  struct Entry {
    TensorInfo info;
    const void* data = nullptr;
    std::shared_ptr<std::vector<uint8_t>> owned;
  };
  void add_entry(Entry entry, size_t bytes);
  std::vector<Entry> entries_;
  std::set<std::string> names_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_bytes_ = 0;
};

// The tensors of a checkpoint: a directory holding model.safetensors.index.json (sharded),
// model.safetensors, or other *.safetensors files (their tensor names must not collide), or a
// single .safetensors file. Every file is opened and validated up front; the index must name only
// plain file names in the directory and every tensor it lists must be in its shard.
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& path);

  const std::string& path() const { return path_; }
  bool sharded() const { return sharded_; }
  const std::vector<SafetensorsFile>& files() const { return files_; }
  const TensorInfo* find(std::string_view name) const;
  // Throws naming the checkpoint (and the shard the index expects it in) when absent.
  TensorView tensor(std::string_view name) const;
  const SafetensorsFile& file_of(std::string_view name) const;
  std::vector<std::string> tensor_names() const;  // sorted
  uint64_t total_tensor_bytes() const;

 private:
  struct Location {
    int file = 0;
    int tensor = 0;
  };
  void add_file_tensors(int file_index);
  std::string path_;
  bool sharded_ = false;
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, Location> locations_;
};

}  // namespace fp4moe
