// The arrays that cross the Python boundary as DLPack: what a function expects of each argument
// (element type, shape, row-major layout, device) and the check that throws an fp4moe::Error
// naming the argument, as the C++ API does. Also new NumPy arrays for results built on the host.
#pragma once
#include <nanobind/ndarray.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fp4moe::bindings {

namespace nb = nanobind;

using InArray = nb::ndarray<nb::ro>;  // read-only input from any DLPack producer (NumPy, torch, ...)
using OutArray = nb::ndarray<>;       // written in place

enum class Elem : uint8_t { kU8, kBf16, kF32, kF64, kI32 };

// Where an array must live: host memory (CPU, pinned too), one CUDA device, or either of the two
// (weights, which a CUDA layer copies from wherever they are).
struct Place {
  bool cuda = false;
  int device = 0;
  bool or_host = false;  // with cuda: host memory is accepted as well
  static Place host() { return {}; }
  static Place cuda_device(int id) { return {true, id}; }
  static Place host_or_cuda_device(int id) { return {true, id, true}; }
};

// A uniform view of any nb::ndarray specialisation: the fields the checks read.
struct ArrayInfo {
  const void* data = nullptr;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements
  nb::dlpack::dtype dtype;
  int32_t device_type = 0;
  int32_t device_id = 0;

  int64_t size() const;
};

template <class... Ts>
ArrayInfo describe(const nb::ndarray<Ts...>& a) {
  ArrayInfo info;
  info.data = a.data();
  for (size_t d = 0; d < a.ndim(); ++d) {
    info.shape.push_back(int64_t(a.shape(d)));
    info.strides.push_back(int64_t(a.stride(d)));
  }
  info.dtype = a.dtype();
  info.device_type = a.device_type();
  info.device_id = a.device_id();
  return info;
}

// What one argument must be. An extent of -1 in `shape` accepts any size; an empty `shape` with
// `elements` >= 0 accepts any shape holding exactly that many elements (swizzled scales).
struct Expect {
  Elem elem = Elem::kU8;
  std::vector<int64_t> shape;
  Place place;
  int64_t elements = -1;
};

// Throws "fp4moe: <where>: <name>: expected ..., got ..." on the first mismatch: element type,
// shape, row-major contiguity, device.
void check_array(const ArrayInfo& a, const char* where, const std::string& name, const Expect& expect);

template <class... Ts>
ArrayInfo checked(const nb::ndarray<Ts...>& a, const char* where, const std::string& name, const Expect& expect) {
  ArrayInfo info = describe(a);
  check_array(info, where, name, expect);
  return info;
}

std::string shape_string(const std::vector<int64_t>& shape);  // -1 prints as *
std::string strides_string(const std::vector<int64_t>& strides);
std::string dtype_name(const nb::dlpack::dtype& dtype);

// A new C-contiguous NumPy array that owns its memory.
template <class T>
nb::ndarray<nb::numpy, T> new_numpy(const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t extent : shape) n *= extent;
  T* data = new T[n > 0 ? n : 1];
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nb::ndarray<nb::numpy, T>(data, shape.size(), shape.data(), owner);
}

}  // namespace fp4moe::bindings
