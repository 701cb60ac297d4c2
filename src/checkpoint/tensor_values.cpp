// Element conversion for unquantized checkpoint tensors. Reads go through memcpy because the
// safetensors data section guarantees no alignment.
#include "checkpoint/tensor_values.h"

#include <cmath>
#include <cstring>
#include <string>

#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/error.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe {
namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
  if (exp == 0) {
    const float v = std::ldexp(float(man), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_to_float(sign | 0x7F800000u | (man << 13));
  return bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
}

}  // namespace

bool is_float_dtype(DType dtype) { return dtype == DType::kBF16 || dtype == DType::kF16 || dtype == DType::kF32; }

std::vector<float> read_float_range(const TensorView& v, int64_t first, int64_t count) {
  require(is_float_dtype(v.info->dtype), "safetensors " + *v.file, "tensor '" + v.info->name + "'", "BF16, F16 or F32",
          std::string(to_string(v.info->dtype)) + " " + v.info->shape_string());
  require(first >= 0 && count >= 0 && first + count <= v.info->numel(), "read_float_range", "elements",
          "a range inside tensor '" + v.info->name + "'", std::to_string(first) + " + " + std::to_string(count));
  std::vector<float> out(static_cast<size_t>(count));
  if (v.info->dtype == DType::kF32) {
    std::memcpy(out.data(), v.data + first * 4, size_t(count) * 4);
    return out;
  }
  const bool half = v.info->dtype == DType::kF16;
  const uint8_t* src = v.data + first * 2;
  for (int64_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, sizeof(bits));
    out[size_t(i)] = half ? half_to_float(bits) : bf16_to_float(bf16{bits});
  }
  return out;
}

std::vector<float> read_float_tensor(const TensorView& view) { return read_float_range(view, 0, view.info->numel()); }

}  // namespace fp4moe
