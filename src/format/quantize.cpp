// Host-side NVFP4 tensor operations (quantize.h): every element goes through the shared codecs of
// nvfp4.h, so the result is the same bits the device code produces. Rows are split over threads;
// each row is written by one thread, so the thread count never changes a result.
#include "fp4moe/format/quantize.h"

#include <cmath>
#include <cstring>
#include <string>

#include "fp4moe/error.h"
#include "util/parallel.h"

namespace fp4moe {
namespace {

// Below this many elements a thread costs more than it saves.
constexpr int64_t kParallelElements = int64_t(1) << 16;

int threads_for(int64_t elements) { return elements >= kParallelElements ? 0 : 1; }

void check_matrix(const char* where, int64_t rows, int64_t cols) {
  require(rows >= 0, where, "rows", "a non-negative count", rows);
  require(cols > 0 && cols % kNvfp4BlockSize == 0, where, "cols", "a positive multiple of 16", cols);
}

void check_pointer(const void* p, int64_t rows, const char* where, const char* argument) {
  require(p != nullptr || rows == 0, where, argument, "a non-null pointer", "null");
}

float to_float(float v) { return v; }
float to_float(bf16 v) { return bf16_to_float(v); }

template <class T>
float amax_impl(const T* x, int64_t n) {
  require(n >= 0, "amax", "n", "a non-negative count", n);
  require(x != nullptr || n == 0, "amax", "x", "a non-null pointer", "null");
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = nan_max(m, std::fabs(to_float(x[i])));
  return m;
}

template <class T>
void quantize_impl(const T* x, int64_t rows, int64_t cols, float global_scale, uint8_t* packed, uint8_t* scales,
                   ScaleLayout layout) {
  constexpr const char* kWhere = "quantize_nvfp4";
  check_matrix(kWhere, rows, cols);
  check_pointer(x, rows, kWhere, "x");
  check_pointer(packed, rows, kWhere, "packed");
  check_pointer(scales, rows, kWhere, "scales");
  // NaN is let through on purpose: a NaN dynamic amax must show as NaN scales, not as an error.
  require(is_nan(global_scale) || (global_scale > 0.0f && is_finite(global_scale)), kWhere, "global_scale",
          "a finite positive value (or NaN, propagated)", std::to_string(global_scale));
  if (rows == 0) return;
  if (layout == ScaleLayout::kSwizzled128x4) std::memset(scales, 0, size_t(scale_bytes(layout, rows, cols)));
  const int64_t blocks = cols / kNvfp4BlockSize;
  parallel_for(rows, threads_for(rows * cols), [&](int64_t begin, int64_t end) {
    float block[kNvfp4BlockSize];
    uint8_t codes[kNvfp4BlockSize / 2];
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t b = 0; b < blocks; ++b) {
        const T* src = x + r * cols + b * kNvfp4BlockSize;
        for (int i = 0; i < kNvfp4BlockSize; ++i) block[i] = to_float(src[i]);
        scales[scale_offset(layout, r, b, cols)] = quantize_nvfp4_block(block, global_scale, codes);
        std::memcpy(packed + r * (cols / 2) + b * (kNvfp4BlockSize / 2), codes, sizeof(codes));
      }
    }
  });
}

}  // namespace

float amax(const float* x, int64_t n) { return amax_impl(x, n); }
float amax(const bf16* x, int64_t n) { return amax_impl(x, n); }

void quantize_nvfp4(const float* x, int64_t rows, int64_t cols, float global_scale, uint8_t* packed,
                    uint8_t* scales, ScaleLayout layout) {
  quantize_impl(x, rows, cols, global_scale, packed, scales, layout);
}

void quantize_nvfp4(const bf16* x, int64_t rows, int64_t cols, float global_scale, uint8_t* packed,
                    uint8_t* scales, ScaleLayout layout) {
  quantize_impl(x, rows, cols, global_scale, packed, scales, layout);
}

float modelopt_scale_from_amax(float amax) {
  const float global = global_scale_from_amax(amax);
  return global == (kE4M3Max * kE2M1Max) / amax ? amax / (kE4M3Max * kE2M1Max) : 1.0f / global;
}

namespace {

template <class T>
QuantizedWeight quantize_weight_impl(const T* w, int64_t rows, int64_t cols) {
  check_matrix("quantize_weight", rows, cols);
  check_pointer(w, rows, "quantize_weight", "w");
  const float a = amax(w, rows * cols);
  QuantizedWeight q;
  q.packed.resize(size_t(rows * cols / 2));
  q.scales.resize(size_t(rows * cols / kNvfp4BlockSize));
  quantize_nvfp4(w, rows, cols, global_scale_from_amax(a), q.packed.data(), q.scales.data(), ScaleLayout::kLinear);
  q.scale_2 = modelopt_scale_from_amax(a);
  return q;
}

}  // namespace

QuantizedWeight quantize_weight(const float* w, int64_t rows, int64_t cols) {
  return quantize_weight_impl(w, rows, cols);
}
QuantizedWeight quantize_weight(const bf16* w, int64_t rows, int64_t cols) {
  return quantize_weight_impl(w, rows, cols);
}

void dequantize_nvfp4(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols, ScaleLayout layout,
                      float scale_mult, float* out) {
  constexpr const char* kWhere = "dequantize_nvfp4";
  check_matrix(kWhere, rows, cols);
  check_pointer(packed, rows, kWhere, "packed");
  check_pointer(scales, rows, kWhere, "scales");
  check_pointer(out, rows, kWhere, "out");
  parallel_for(rows, threads_for(rows * cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const uint8_t code = unpack_e2m1(packed[r * (cols / 2) + c / 2], int(c & 1));
        const float s = e4m3_to_float(scales[scale_offset(layout, r, c / kNvfp4BlockSize, cols)]);
        // e2m1 * e4m3 is exact in float; scale_mult is the only rounding.
        out[r * cols + c] = (e2m1_to_float(code) * s) * scale_mult;
      }
    }
  });
}

void swizzle_scales(const uint8_t* linear, int64_t rows, int64_t cols, uint8_t* swizzled) {
  constexpr const char* kWhere = "swizzle_scales";
  check_matrix(kWhere, rows, cols);
  check_pointer(linear, rows, kWhere, "linear");
  check_pointer(swizzled, rows, kWhere, "swizzled");
  if (rows == 0) return;
  std::memset(swizzled, 0, size_t(scale_bytes(ScaleLayout::kSwizzled128x4, rows, cols)));
  const int64_t sc = scale_cols(cols);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t kb = 0; kb < sc; ++kb)
      swizzled[scale_offset(ScaleLayout::kSwizzled128x4, m, kb, cols)] = linear[m * sc + kb];
}

void unswizzle_scales(const uint8_t* swizzled, int64_t rows, int64_t cols, uint8_t* linear) {
  constexpr const char* kWhere = "unswizzle_scales";
  check_matrix(kWhere, rows, cols);
  check_pointer(swizzled, rows, kWhere, "swizzled");
  check_pointer(linear, rows, kWhere, "linear");
  const int64_t sc = scale_cols(cols);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t kb = 0; kb < sc; ++kb)
      linear[m * sc + kb] = swizzled[scale_offset(ScaleLayout::kSwizzled128x4, m, kb, cols)];
}

}  // namespace fp4moe
