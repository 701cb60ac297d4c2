// Argument checks for DLPack arrays: every mismatch becomes the library's "expected ..., got ..."
// error, so Python users read the same messages as C++ users.
#include "bindings/arrays.h"

#include "fp4moe/error.h"

namespace fp4moe::bindings {
namespace {

using nb::dlpack::dtype_code;

bool has_code(const nb::dlpack::dtype& dt, dtype_code code, int bits) {
  return dt.code == uint8_t(code) && dt.bits == bits && dt.lanes == 1;
}

bool matches(const nb::dlpack::dtype& dt, Elem elem) {
  switch (elem) {
    case Elem::kU8: return has_code(dt, dtype_code::UInt, 8);
    // Raw uint16 carries BF16 bits for producers without a bfloat16 type (NumPy).
    case Elem::kBf16: return has_code(dt, dtype_code::Bfloat, 16) || has_code(dt, dtype_code::UInt, 16);
    case Elem::kF32: return has_code(dt, dtype_code::Float, 32);
    case Elem::kF64: return has_code(dt, dtype_code::Float, 64);
    case Elem::kI32: return has_code(dt, dtype_code::Int, 32);
  }
  return false;
}

const char* elem_description(Elem elem) {
  switch (elem) {
    case Elem::kU8: return "uint8 elements";
    case Elem::kBf16: return "bfloat16 elements (or uint16 holding bf16 bits)";
    case Elem::kF32: return "float32 elements";
    case Elem::kF64: return "float64 elements";
    case Elem::kI32: return "int32 elements";
  }
  return "?";
}

bool shape_matches(const std::vector<int64_t>& got, const std::vector<int64_t>& want) {
  if (got.size() != want.size()) return false;
  for (size_t d = 0; d < got.size(); ++d)
    if (want[d] >= 0 && got[d] != want[d]) return false;
  return true;
}

// Row-major with no gaps; extents of 1, and empty arrays, may carry any stride (DLPack producers
// differ there).
bool is_row_major(const ArrayInfo& a) {
  if (a.size() == 0) return true;
  int64_t expected = 1;
  for (size_t d = a.shape.size(); d-- > 0;) {
    if (a.shape[d] != 1 && a.strides[d] != expected) return false;
    expected *= a.shape[d];
  }
  return true;
}

bool on_place(const ArrayInfo& a, const Place& place) {
  const bool host = a.device_type == nb::device::cpu::value || a.device_type == nb::device::cuda_host::value;
  if (!place.cuda) return host;
  return (place.or_host && host) || (a.device_type == nb::device::cuda::value && a.device_id == place.device);
}

std::string place_string(const Place& place) {
  if (!place.cuda) return "host (CPU) memory";
  return (place.or_host ? "host (CPU) memory or CUDA device " : "CUDA device ") + std::to_string(place.device);
}

std::string device_string(const ArrayInfo& a) {
  if (a.device_type == nb::device::cpu::value) return "host (CPU) memory";
  if (a.device_type == nb::device::cuda_host::value) return "pinned host memory";
  if (a.device_type == nb::device::cuda::value) return "CUDA device " + std::to_string(a.device_id);
  return "DLPack device type " + std::to_string(a.device_type);
}

}  // namespace

int64_t ArrayInfo::size() const {
  int64_t n = 1;
  for (int64_t extent : shape) n *= extent;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d) s += ", ";
    s += shape[d] < 0 ? std::string("*") : std::to_string(shape[d]);
  }
  return s + "]";
}

std::string strides_string(const std::vector<int64_t>& strides) {
  std::string s = "(";
  for (size_t d = 0; d < strides.size(); ++d) s += (d ? ", " : "") + std::to_string(strides[d]);
  return s + ")";
}

std::string dtype_name(const nb::dlpack::dtype& dt) {
  std::string kind;
  switch (dtype_code(dt.code)) {
    case dtype_code::Int: kind = "int"; break;
    case dtype_code::UInt: kind = "uint"; break;
    case dtype_code::Float: kind = "float"; break;
    case dtype_code::Bfloat: kind = "bfloat"; break;
    default: kind = "dlpack_code" + std::to_string(int(dt.code)) + "_"; break;
  }
  std::string name = kind + std::to_string(int(dt.bits));
  if (dt.lanes != 1) name += "x" + std::to_string(int(dt.lanes));
  return name;
}

void check_array(const ArrayInfo& a, const char* where, const std::string& name, const Expect& expect) {
  require(matches(a.dtype, expect.elem), where, name, elem_description(expect.elem), dtype_name(a.dtype));
  if (expect.elements >= 0) {
    require(a.size() == expect.elements, where, name, "an array of " + std::to_string(expect.elements) + " elements",
            shape_string(a.shape) + " (" + std::to_string(a.size()) + " elements)");
  } else {
    require(shape_matches(a.shape, expect.shape), where, name, "shape " + shape_string(expect.shape),
            shape_string(a.shape));
  }
  require(is_row_major(a), where, name, "a C-contiguous (row-major) array",
          "element strides " + strides_string(a.strides) + " for shape " + shape_string(a.shape));
  require(on_place(a, expect.place), where, name, "an array in " + place_string(expect.place), device_string(a));
  require(a.data != nullptr || a.size() == 0, where, name, "a non-null data pointer", "null");
}

}  // namespace fp4moe::bindings
