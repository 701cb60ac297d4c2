// Parsing and validating a safetensors header: the one place that turns untrusted bytes into
// TensorInfo. Everything a later read relies on (offsets inside the file, sizes matching dtype and
// shape, no overlaps) is checked here, so the readers downstream never re-check. Fuzzed by
// fuzz/fuzz_safetensors_header.cpp.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/error.h"

namespace fp4moe {
namespace {

struct DTypeName {
  DType dtype;
  std::string_view name;
  int bits;
};

constexpr std::array<DTypeName, 19> kDTypes = {{
    {DType::kBool, "BOOL", 8},      {DType::kU8, "U8", 8},          {DType::kI8, "I8", 8},
    {DType::kU16, "U16", 16},       {DType::kI16, "I16", 16},       {DType::kU32, "U32", 32},
    {DType::kI32, "I32", 32},       {DType::kU64, "U64", 64},       {DType::kI64, "I64", 64},
    {DType::kF4, "F4", 4},          {DType::kF6E2M3, "F6_E2M3", 6}, {DType::kF6E3M2, "F6_E3M2", 6},
    {DType::kF8E4M3, "F8_E4M3", 8}, {DType::kF8E5M2, "F8_E5M2", 8}, {DType::kF8E8M0, "F8_E8M0", 8},
    {DType::kF16, "F16", 16},       {DType::kBF16, "BF16", 16},     {DType::kF32, "F32", 32},
    {DType::kF64, "F64", 64},
}};

// The header has three levels: the root object, one object per tensor, the shape/offset arrays.
constexpr int kMaxJsonNesting = 3;

// Built by appends: GCC 12 warns (-Wrestrict, a false positive) on "'" + std::string(s) + "'".
std::string in_quotes(std::string_view s) {
  std::string quoted(1, '\'');
  quoted.append(s).push_back('\'');
  return quoted;
}

// Rejects duplicate keys (nlohmann keeps the last silently, which would let a file show one
// tensor to one reader and another to the next) and nesting deeper than the format has.
class HeaderJsonGuard {
 public:
  explicit HeaderJsonGuard(std::string_view where) : where_(where) {}

  bool operator()(int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start || event == Event::array_start) {
      ++nesting_;
      require(nesting_ <= kMaxJsonNesting, where_, "header", "JSON nested at most 3 levels deep", "deeper nesting");
      if (event == Event::object_start) keys_.emplace_back();
    } else if (event == Event::object_end || event == Event::array_end) {
      --nesting_;
      if (event == Event::object_end) keys_.pop_back();
    } else if (event == Event::key) {
      const std::string& key = parsed.get_ref<const std::string&>();
      require(keys_.back().insert(key).second, where_, "header key " + in_quotes(key), "unique keys", "a duplicate");
    }
    return true;
  }

 private:
  std::string where_;
  int nesting_ = 0;
  std::vector<std::set<std::string>> keys_;
};

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  try {
    return nlohmann::json::parse(text.begin(), text.end(), HeaderJsonGuard(where));
  } catch (const nlohmann::json::exception& e) {
    require(false, where, "header", "well-formed JSON", e.what());
  }
  return {};
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The product of the dims, or -1 when it does not fit in int64 (the caller reports it).
int64_t checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

std::vector<int64_t> parse_shape(const nlohmann::json& j, const std::string& where, const std::string& what) {
  require(j.is_array(), where, what + " shape", "an array of non-negative integers", j.dump());
  std::vector<int64_t> shape;
  for (const auto& d : j) {
    const bool ok = d.is_number_unsigned() && d.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max());
    require(ok, where, what + " shape", "an array of non-negative integers", j.dump());
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

TensorInfo parse_tensor_entry(const std::string& name, const nlohmann::json& j, uint64_t data_size,
                              const std::string& where) {
  const std::string what = "tensor " + in_quotes(name);
  require(j.is_object(), where, what, "an object {dtype, shape, data_offsets}", j.dump());
  for (const auto& [key, value] : j.items()) {
    require(key == "dtype" || key == "shape" || key == "data_offsets", where, what + " key " + in_quotes(key),
            "only dtype, shape and data_offsets", "an unknown key");
  }
  require(j.contains("dtype") && j.contains("shape") && j.contains("data_offsets"), where, what,
          "all of dtype, shape and data_offsets", j.dump());

  TensorInfo info;
  info.name = name;
  const auto& dtype = j.at("dtype");
  const bool dtype_ok = dtype.is_string() && parse_dtype(dtype.get_ref<const std::string&>(), &info.dtype);
  require(dtype_ok, where, what + " dtype", "a safetensors dtype (U8, F8_E4M3, BF16, F32, ...)", dtype.dump());

  info.shape = parse_shape(j.at("shape"), where, what);
  const int64_t numel = checked_numel(info.shape);
  require(numel >= 0, where, what + " shape", "an element count that fits in 64 bits", info.shape_string());

  const auto& offsets = j.at("data_offsets");
  const bool offsets_ok =
      offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned();
  require(offsets_ok, where, what + " data_offsets", "[begin, end] non-negative integers", offsets.dump());
  info.begin = offsets[0].get<uint64_t>();
  info.end = offsets[1].get<uint64_t>();
  require(info.begin <= info.end, where, what + " data_offsets", "begin <= end", offsets.dump());
  require(info.end <= data_size, where, what + " data_offsets",
          "a range inside the data section of " + std::to_string(data_size) + " bytes", offsets.dump());

  const int bits = dtype_bits(info.dtype);
  const bool bits_fit = uint64_t(numel) <= std::numeric_limits<uint64_t>::max() / uint64_t(bits);
  require(bits_fit && (uint64_t(numel) * bits) % 8 == 0, where, what + " shape",
          "a whole number of bytes for dtype " + std::string(to_string(info.dtype)), info.shape_string());
  const uint64_t expected = uint64_t(numel) * bits / 8;
  require(info.bytes() == expected, where, what + " data_offsets",
          std::to_string(expected) + " bytes for " + std::string(to_string(info.dtype)) + " " + info.shape_string(),
          std::to_string(info.bytes()) + " bytes");
  return info;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& j, const std::string& where) {
  require(j.is_object(), where, "__metadata__", "an object of strings", j.dump());
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : j.items()) {
    require(value.is_string(), where, "__metadata__ " + in_quotes(key), "a string", value.dump());
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

// Empty tensors may share offsets; any two others must not share a byte.
void check_no_overlap(const std::vector<TensorInfo>& tensors, const std::string& where) {
  std::vector<const TensorInfo*> order;
  for (const auto& t : tensors)
    if (t.bytes() > 0) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    require(order[i]->begin >= order[i - 1]->end, where, "tensor " + in_quotes(order[i]->name) + " data_offsets",
            "no overlap with another tensor", "an overlap with " + in_quotes(order[i - 1]->name));
  }
}

}  // namespace

int dtype_bits(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.bits;
  return 0;
}

std::string_view to_string(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

bool parse_dtype(std::string_view name, DType* dtype) {
  for (const auto& d : kDTypes) {
    if (d.name != name) continue;
    *dtype = d.dtype;
    return true;
  }
  return false;
}

int64_t TensorInfo::numel() const { return checked_numel(shape); }

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

const TensorInfo* SafetensorsHeader::find(std::string_view name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

SafetensorsHeader parse_safetensors(const uint8_t* file, size_t file_size, std::string_view file_name) {
  const std::string where = "safetensors " + std::string(file_name);
  require(file_size >= 8, where, "file size", "at least the 8-byte header length",
          std::to_string(file_size) + " bytes");
  const uint64_t header_len = read_u64_le(file);
  require(header_len <= kMaxSafetensorsHeaderBytes, where, "header length",
          "at most " + std::to_string(kMaxSafetensorsHeaderBytes) + " bytes", std::to_string(header_len));
  require(header_len <= file_size - 8, where, "header length",
          "at most the " + std::to_string(file_size - 8) + " bytes after it (truncated file?)",
          std::to_string(header_len));

  SafetensorsHeader header;
  header.data_offset = 8 + header_len;
  const uint64_t data_size = file_size - header.data_offset;
  const std::string_view text(reinterpret_cast<const char*>(file + 8), header_len);
  const nlohmann::json root = parse_json(text, where);
  require(root.is_object(), where, "header", "a JSON object", std::string(root.type_name()));

  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      header.metadata = parse_metadata(value, where);
    } else {
      header.tensors.push_back(parse_tensor_entry(key, value, data_size, where));
    }
  }
  check_no_overlap(header.tensors, where);
  return header;
}

}  // namespace fp4moe
