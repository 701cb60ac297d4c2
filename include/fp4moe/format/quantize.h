// Host-side NVFP4 tensor operations built on the codecs: amax, quantize, dequantize, and
// conversion between the two scale layouts. Multithreaded over rows; results do not depend on
// the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "fp4moe/format/bf16.h"
#include "fp4moe/format/nvfp4.h"
#include "fp4moe/format/scale_layout.h"

namespace fp4moe {

// max |x| (NaN if any element is NaN).
float amax(const float* x, int64_t n);
float amax(const bf16* x, int64_t n);

// Quantizes x [rows, cols] (cols a multiple of 16) with `global_scale` (spec section 2):
// packed [rows, cols/2], scales in `layout` (scale_bytes(layout, rows, cols) bytes; padding of
// the swizzled layout is written as 0).
void quantize_nvfp4(const float* x, int64_t rows, int64_t cols, float global_scale, uint8_t* packed,
                    uint8_t* scales, ScaleLayout layout = ScaleLayout::kLinear);
void quantize_nvfp4(const bf16* x, int64_t rows, int64_t cols, float global_scale, uint8_t* packed,
                    uint8_t* scales, ScaleLayout layout = ScaleLayout::kLinear);

// ModelOpt's weight_scale_2 or input_scale for a tensor of `amax`: amax / 2688, the inverse of
// global_scale_from_amax(amax), or, where that clamps (amax 0 or below ~8e-33), the exact inverse of
// the scale it gives. NaN for a non-finite amax.
float modelopt_scale_from_amax(float amax);

// A weight matrix [rows, cols] quantized as ModelOpt quantizes one (spec section 2): the global
// scale from its amax, linear block scales, scale_2 = modelopt_scale_from_amax(amax). A NaN or Inf
// element makes scale_2 NaN: callers that must reject such weights check is_finite(scale_2).
struct QuantizedWeight {
  std::vector<uint8_t> packed;  // [rows, cols/2]
  std::vector<uint8_t> scales;  // [rows, cols/16], linear
  float scale_2 = 1.0f;
};
QuantizedWeight quantize_weight(const float* w, int64_t rows, int64_t cols);
QuantizedWeight quantize_weight(const bf16* w, int64_t rows, int64_t cols);

// out = e2m1(q) * e4m3(s) * scale_mult, where scale_mult is 1/global_scale for activations or
// weight_scale_2 for checkpoint weights.
void dequantize_nvfp4(const uint8_t* packed, const uint8_t* scales, int64_t rows, int64_t cols,
                      ScaleLayout layout, float scale_mult, float* out);

// Linear [rows, cols/16] <-> swizzled 128x4 (spec section 3).
void swizzle_scales(const uint8_t* linear, int64_t rows, int64_t cols, uint8_t* swizzled);
void unswizzle_scales(const uint8_t* swizzled, int64_t rows, int64_t cols, uint8_t* linear);

}  // namespace fp4moe
