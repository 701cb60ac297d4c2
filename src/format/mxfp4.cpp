// MXFP4 decoding and its conversion to NVFP4 (mxfp4.h).
#include "fp4moe/format/mxfp4.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>

#include "fp4moe/error.h"
#include "fp4moe/format/nvfp4.h"

namespace fp4moe {
namespace {

// The widest span of block exponents one NVFP4 matrix holds exactly: E4M3 has the powers of two 2^-9
// (its smallest subnormal) to 2^8 (the largest below 448).
constexpr int kTopScaleExponent = 8;
constexpr int kBottomScaleExponent = -9;
// weight_scale_2 no smaller than 1 / kMaxGlobalScale (nvfp4.h), so that a block quantized from its
// values has a finite global scale.
constexpr int kMinScale2Exponent = -118;

void check_matrix(const char* where, int64_t rows, int64_t cols, const void* packed, const void* scales) {
  require(rows >= 0, where, "rows", "a non-negative count", rows);
  require(cols > 0 && cols % kMxfp4BlockSize == 0, where, "cols", "a positive multiple of 32", cols);
  require(packed != nullptr || rows == 0, where, "packed", "a non-null pointer", "null");
  require(scales != nullptr || rows == 0, where, "scales", "a non-null pointer", "null");
}

// True when some code of the `bytes` packed bytes has a non-zero magnitude (-0 is zero).
bool has_magnitude(const uint8_t* packed, int bytes) {
  for (int i = 0; i < bytes; ++i)
    if ((packed[i] & 0x77u) != 0) return true;
  return false;
}

}  // namespace

float e8m0_to_float(uint8_t s) { return s == kE8M0NaN ? NAN : std::ldexp(1.0f, int(s) - 127); }

void dequantize_mxfp4(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols, float* out) {
  check_matrix("dequantize_mxfp4", rows, cols, packed, scales);
  require(out != nullptr || rows == 0, "dequantize_mxfp4", "out", "a non-null pointer", "null");
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[r * cols + c] = e2m1_to_float(unpack_e2m1(packed[(r * cols + c) / 2], int(c & 1))) *
                          e8m0_to_float(scales[(r * cols + c) / kMxfp4BlockSize]);
}

Nvfp4FromMxfp4 nvfp4_from_mxfp4(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols) {
  constexpr const char* kWhere = "nvfp4_from_mxfp4";
  check_matrix(kWhere, rows, cols, packed, scales);
  const int64_t mx_blocks = rows * cols / kMxfp4BlockSize;
  int kmax = INT_MIN;  // the largest exponent of a block with a non-zero code
  for (int64_t b = 0; b < mx_blocks; ++b) {
    const uint8_t s = scales[b];
    const int64_t per_row = cols / kMxfp4BlockSize;
    require(s != kE8M0NaN, kWhere, "scales", "E8M0 scales other than 0xFF (NaN)",
            "0xFF at [" + std::to_string(b / per_row) + ", " + std::to_string(b % per_row) + "]");
    if (has_magnitude(packed + b * (kMxfp4BlockSize / 2), kMxfp4BlockSize / 2)) kmax = std::max(kmax, int(s) - 127);
  }

  Nvfp4FromMxfp4 r;
  QuantizedWeight& q = r.weight;
  q.packed.assign(packed, packed + rows * cols / 2);
  q.scales.assign(size_t(rows * cols / kNvfp4BlockSize), 0);
  if (kmax == INT_MIN) return r;  // every code zero: scales 0, scale_2 1
  const int scale_2_exponent = std::max(kmax - kTopScaleExponent, kMinScale2Exponent);
  q.scale_2 = std::ldexp(1.0f, scale_2_exponent);
  const float global_scale = std::ldexp(1.0f, -scale_2_exponent);

  for (int64_t b = 0; b < rows * cols / kNvfp4BlockSize; ++b) {
    uint8_t* codes = q.packed.data() + b * (kNvfp4BlockSize / 2);
    if (!has_magnitude(codes, kNvfp4BlockSize / 2)) continue;  // scale 0: zeros stay zeros, -0 too
    const int k = int(scales[b / 2]) - 127;
    const int j = k - scale_2_exponent;
    if (j >= kBottomScaleExponent) {
      q.scales[size_t(b)] = float_to_e4m3(std::ldexp(1.0f, j));  // a power of two E4M3 holds: exact
      continue;
    }
    float values[kNvfp4BlockSize];
    for (int i = 0; i < kNvfp4BlockSize; ++i)
      values[i] = e2m1_to_float(unpack_e2m1(codes[i / 2], i & 1)) * std::ldexp(1.0f, k);
    uint8_t requantized[kNvfp4BlockSize / 2];
    q.scales[size_t(b)] = quantize_nvfp4_block(values, global_scale, requantized);
    std::memcpy(codes, requantized, sizeof(requantized));
    ++r.inexact_blocks;
  }
  return r;
}

}  // namespace fp4moe
