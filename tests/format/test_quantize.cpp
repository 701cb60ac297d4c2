// The NVFP4 block quantizer of spec section 2 and the host tensor operations: hand-computed
// vectors, bit-exact agreement with the independent scalar implementation in both scale layouts,
// amax, the global scale's special cases, NaN handling, dequantization and argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include "common/expect_error.h"
#include "common/random_inputs.h"
#include "common/rng.h"
#include "common/scalar_nvfp4.h"
#include "fp4moe/format/quantize.h"

namespace fp4moe {
namespace {

using testing::expect_error;

// Quantizes with the independent scalar code: packed codes and linear scales.
void scalar_quantize(const std::vector<float>& x, int64_t rows, int64_t cols, float global,
                     std::vector<uint8_t>& packed, std::vector<uint8_t>& scales) {
  packed.assign(size_t(rows * cols / 2), 0);
  scales.assign(size_t(rows * cols / 16), 0);
  uint8_t codes[16];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / 16; ++b) {
      const float* block = &x[size_t(r * cols + b * 16)];
      scales[size_t(r * (cols / 16) + b)] = testing::scalar::quantize_block(block, global, codes);
      for (int i = 0; i < 16; i += 2)
        packed[size_t(r * (cols / 2) + b * 8 + i / 2)] = uint8_t(codes[i] | (codes[i + 1] << 4));
    }
}

TEST(Quantize, HandComputedBlocks) {
  // Block 0: vmax 6 with global scale 448 gives scale 448 (0x7E) and inv 1, so the codes are the
  // plain E2M1 roundings, ties included. Block 1: vmax 1 -> 448/6 = 74.67 -> E4M3 72 (0x69),
  // inv = 448/72 = 6.22. Block 2: all zero -> scale 0, codes 0.
  std::vector<float> x = {6, -3, 1.5f, 0.25f, 0.75f, 5, 2.5f, 3.5f, -0.5f, 1.25f, 1.75f, -6, 0, -0.25f, 4, 1,
                          1, 0.5f, 0.1f, -0.25f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  x.resize(48, 0.0f);
  const float global = global_scale_from_amax(amax(x.data(), int64_t(x.size())));
  EXPECT_EQ(global, 448.0f);
  std::vector<uint8_t> packed(24), scales(3);
  quantize_nvfp4(x.data(), 1, 48, global, packed.data(), scales.data());
  EXPECT_EQ(scales, (std::vector<uint8_t>{0x7E, 0x69, 0x00}));
  const std::vector<uint8_t> expected = {0xD7, 0x03, 0x62, 0x64, 0x29, 0xF4, 0x80, 0x26,  // block 0
                                         0x57, 0xB1, 0, 0, 0, 0, 0, 0,                    // block 1
                                         0, 0, 0, 0, 0, 0, 0, 0};                          // block 2
  EXPECT_EQ(packed, expected);

  std::vector<float> back(48);
  dequantize_nvfp4(packed.data(), scales.data(), 1, 48, ScaleLayout::kLinear, 1.0f, back.data());
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(back[size_t(i)], 448.0f * e2m1_to_float(unpack_e2m1(packed[size_t(i / 2)], i % 2)));
  EXPECT_EQ(back[16], 6.0f * 72.0f);
  EXPECT_EQ(back[17], 3.0f * 72.0f);
  EXPECT_EQ(back[19], -1.5f * 72.0f);
  EXPECT_EQ(back[40], 0.0f);
}

struct Shape {
  int64_t rows, cols;
};

// Random values over several magnitudes, so that many block scales, subnormal ones included, occur.
std::vector<float> random_matrix(int64_t n, testing::Rng& rng) {
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = float(rng.normal() * std::exp2(rng.uniform(-14.0, 4.0)));
  return x;
}

TEST(Quantize, MatchesScalarImplementationInBothLayouts) {
  testing::Rng rng(3);
  // cols 48 is a multiple of 16 but not 64 (scale columns padded to 4); rows cross the 128 padding;
  // 300 x 512 is large enough to be split over threads.
  for (const Shape s : {Shape{1, 16}, Shape{3, 48}, Shape{130, 80}, Shape{300, 512}}) {
    const std::vector<float> x = random_matrix(s.rows * s.cols, rng);
    const float global = global_scale_from_amax(amax(x.data(), int64_t(x.size())));
    ASSERT_EQ(global, testing::scalar::global_scale(amax(x.data(), int64_t(x.size()))));
    std::vector<uint8_t> want_packed, want_scales;
    scalar_quantize(x, s.rows, s.cols, global, want_packed, want_scales);

    std::vector<uint8_t> packed(want_packed.size()), scales(want_scales.size());
    quantize_nvfp4(x.data(), s.rows, s.cols, global, packed.data(), scales.data(), ScaleLayout::kLinear);
    EXPECT_EQ(packed, want_packed) << s.rows << "x" << s.cols;
    EXPECT_EQ(scales, want_scales) << s.rows << "x" << s.cols;

    std::vector<uint8_t> swizzled(size_t(scale_bytes(ScaleLayout::kSwizzled128x4, s.rows, s.cols)), 0xAB);
    std::vector<uint8_t> packed2(packed.size());
    quantize_nvfp4(x.data(), s.rows, s.cols, global, packed2.data(), swizzled.data(), ScaleLayout::kSwizzled128x4);
    EXPECT_EQ(packed2, want_packed);
    std::vector<uint8_t> expected_swizzled(swizzled.size());
    swizzle_scales(want_scales.data(), s.rows, s.cols, expected_swizzled.data());
    EXPECT_EQ(swizzled, expected_swizzled) << "padding must be written as 0";
  }
}

TEST(Quantize, Bf16InputMatchesItsFloatValues) {
  testing::Rng rng(4);
  const std::vector<bf16> x = testing::random_bf16(64 * 32, rng, 3.0);
  std::vector<float> xf(x.size());
  for (size_t i = 0; i < x.size(); ++i) xf[i] = bf16_to_float(x[i]);
  EXPECT_EQ(amax(x.data(), int64_t(x.size())), amax(xf.data(), int64_t(xf.size())));
  const float global = global_scale_from_amax(amax(x.data(), int64_t(x.size())));
  std::vector<uint8_t> p1(x.size() / 2), s1(x.size() / 16), p2(p1.size()), s2(s1.size());
  quantize_nvfp4(x.data(), 64, 32, global, p1.data(), s1.data());
  quantize_nvfp4(xf.data(), 64, 32, global, p2.data(), s2.data());
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(s1, s2);
}

TEST(Quantize, DequantizeMatchesScalarDecode) {
  testing::Rng rng(5);
  const std::vector<float> x = random_matrix(5 * 64, rng);
  const float global = global_scale_from_amax(amax(x.data(), int64_t(x.size())));
  std::vector<uint8_t> packed(x.size() / 2), lin(x.size() / 16);
  std::vector<uint8_t> swz(size_t(scale_bytes(ScaleLayout::kSwizzled128x4, 5, 64)));
  quantize_nvfp4(x.data(), 5, 64, global, packed.data(), lin.data());
  swizzle_scales(lin.data(), 5, 64, swz.data());
  std::vector<float> a(x.size()), b(x.size());
  dequantize_nvfp4(packed.data(), lin.data(), 5, 64, ScaleLayout::kLinear, 0.5f, a.data());
  dequantize_nvfp4(packed.data(), swz.data(), 5, 64, ScaleLayout::kSwizzled128x4, 0.5f, b.data());
  for (size_t i = 0; i < x.size(); ++i) {
    const uint8_t code = unpack_e2m1(packed[i / 2], int(i % 2));
    const double want = testing::scalar::e2m1_value(code) * testing::scalar::e4m3_value(lin[i / 16]) * 0.5;
    ASSERT_EQ(double(a[i]), want) << i;
    ASSERT_EQ(a[i], b[i]) << i;
  }
}

TEST(Quantize, AmaxPropagatesNan) {
  std::vector<float> x = {1, -7, 3, 0};
  EXPECT_EQ(amax(x.data(), 4), 7.0f);
  EXPECT_EQ(amax(x.data(), 0), 0.0f);
  x[2] = NAN;
  EXPECT_TRUE(std::isnan(amax(x.data(), 4)));
  x[2] = 3;
  x[3] = NAN;  // last element: a max that skips NaN would return 7
  EXPECT_TRUE(std::isnan(amax(x.data(), 4)));
}

TEST(Quantize, GlobalScaleSpecialCases) {
  EXPECT_EQ(global_scale_from_amax(0.0f), 1.0f);
  EXPECT_EQ(global_scale_from_amax(6.0f), 448.0f);
  EXPECT_EQ(global_scale_from_amax(2688.0f), 1.0f);
  EXPECT_TRUE(std::isnan(global_scale_from_amax(NAN)));
  EXPECT_TRUE(std::isnan(global_scale_from_amax(INFINITY)));
  // 2688 / 1e-38 overflows float: the scale is capped so that zeros still quantize to 0, not NaN.
  EXPECT_EQ(global_scale_from_amax(1e-38f), kMaxGlobalScale);
}

// ModelOpt's scale is amax / 2688 where the global scale is 2688 / amax, and the exact inverse of the
// global scale where that clamps: dequantizing with it undoes the quantizer's scaling either way.
TEST(Quantize, ModelOptScaleFromAmax) {
  EXPECT_EQ(modelopt_scale_from_amax(2688.0f), 1.0f);
  EXPECT_EQ(modelopt_scale_from_amax(6.0f), 6.0f / 2688.0f);
  EXPECT_EQ(modelopt_scale_from_amax(0.0f), 1.0f);  // all codes 0 with global scale 1
  EXPECT_EQ(modelopt_scale_from_amax(1e-38f), 1.0f / kMaxGlobalScale);
  EXPECT_TRUE(std::isnan(modelopt_scale_from_amax(NAN)));
  EXPECT_TRUE(std::isnan(modelopt_scale_from_amax(INFINITY)));
}

// quantize_weight is quantize_nvfp4 with the global scale from the matrix's amax and that amax's
// ModelOpt scale, in the linear layout; a NaN weight makes its scale_2 NaN.
TEST(Quantize, QuantizeWeightIsTheModelOptRecipe) {
  testing::Rng rng(17);
  std::vector<float> w = random_matrix(3 * 48, rng);
  const float a = amax(w.data(), int64_t(w.size()));
  std::vector<uint8_t> packed(3 * 24), scales(3 * 3);
  quantize_nvfp4(w.data(), 3, 48, global_scale_from_amax(a), packed.data(), scales.data());
  const QuantizedWeight q = quantize_weight(w.data(), 3, 48);
  EXPECT_EQ(q.packed, packed);
  EXPECT_EQ(q.scales, scales);
  EXPECT_EQ(q.scale_2, a / 2688.0f);
  std::vector<bf16> w16(w.size());
  for (size_t i = 0; i < w.size(); ++i) w16[i] = float_to_bf16(w[i]);
  const QuantizedWeight q16 = quantize_weight(w16.data(), 3, 48);
  EXPECT_EQ(q16.scale_2, amax(w16.data(), int64_t(w16.size())) / 2688.0f);
  w[100] = NAN;
  EXPECT_TRUE(std::isnan(quantize_weight(w.data(), 3, 48).scale_2));
  testing::expect_error([&] { quantize_weight(w.data(), 3, 40); },
                        "quantize_weight: cols: expected a positive multiple of 16, got 40");
  testing::expect_error([&] { quantize_weight(static_cast<const float*>(nullptr), 3, 48); },
                        "quantize_weight: w: expected a non-null pointer, got null");
}

TEST(Quantize, TinyAmaxNeverGivesNan) {
  std::vector<float> x(32, 0.0f);
  x[0] = 1e-36f;  // 2688 / 1e-36 overflows; block 0 non-zero, block 1 all zero
  x[1] = 1e-44f;  // a float subnormal
  const float global = global_scale_from_amax(amax(x.data(), 32));
  std::vector<uint8_t> packed(16), scales(2);
  quantize_nvfp4(x.data(), 1, 32, global, packed.data(), scales.data());
  std::vector<float> back(32);
  dequantize_nvfp4(packed.data(), scales.data(), 1, 32, ScaleLayout::kLinear, 1.0f, back.data());
  for (float v : back) EXPECT_FALSE(std::isnan(v));
  EXPECT_EQ(scales[1], 0);
  EXPECT_EQ(packed[0] & 0xF, 7);  // the block maximum maps to 6
  for (int i = 8; i < 16; ++i) EXPECT_EQ(packed[size_t(i)], 0);
}

TEST(Quantize, NanMarksOnlyItsBlock) {
  testing::Rng rng(6);
  std::vector<float> x = random_matrix(2 * 48, rng);
  const float global = global_scale_from_amax(amax(x.data(), int64_t(x.size())));
  x[16 + 5] = NAN;  // row 0, block 1
  std::vector<uint8_t> packed(48), scales(6);
  quantize_nvfp4(x.data(), 2, 48, global, packed.data(), scales.data());
  EXPECT_EQ(scales[1], 0x7F);
  for (int i = 8; i < 16; ++i) EXPECT_EQ(packed[size_t(i)], 0x77);
  std::vector<float> back(x.size());
  dequantize_nvfp4(packed.data(), scales.data(), 2, 48, ScaleLayout::kLinear, 1.0f / global, back.data());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(std::isnan(back[i]), i >= 16 && i < 32) << i;

  // A NaN global scale (the dynamic amax of a tensor with a NaN) makes every block NaN.
  quantize_nvfp4(x.data(), 2, 48, global_scale_from_amax(amax(x.data(), int64_t(x.size()))), packed.data(),
                 scales.data());
  for (uint8_t s : scales) EXPECT_EQ(s, 0x7F);
}

// The fake quantization of a block (the GPU's W4A4 activations) equals quantizing it and decoding
// the codes times the scale, bit for bit (NaN as NaN), over blocks of every magnitude, all-zero
// blocks, saturating global scales, Inf and NaN.
TEST(Quantize, FakeQuantizedBlockEqualsQuantizeThenDecode) {
  testing::Rng rng(31);
  for (int trial = 0; trial < 20000; ++trial) {
    float x[kNvfp4BlockSize];
    const double range = std::pow(10.0, rng.uniform(-8.0, 6.0));
    for (float& v : x) v = float(rng.uniform(-range, range));
    if (trial % 7 == 0) x[rng.below(kNvfp4BlockSize)] = INFINITY;
    if (trial % 11 == 0) x[rng.below(kNvfp4BlockSize)] = std::nanf("");
    if (trial % 13 == 0)
      for (float& v : x) v = 0.0f;
    const float gs =
        trial % 5 == 0 ? global_scale_from_amax(float(range)) * 0.3f : global_scale_from_amax(float(range));

    uint8_t codes[kNvfp4BlockSize / 2];
    const float s = e4m3_to_float(quantize_nvfp4_block(x, gs, codes));
    float fake[kNvfp4BlockSize];
    std::copy(std::begin(x), std::end(x), fake);
    fake_quantize_nvfp4_block(fake, gs);
    for (int i = 0; i < kNvfp4BlockSize; ++i) {
      const float want = e2m1_to_float(unpack_e2m1(codes[i / 2], i % 2)) * s;
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(fake[i])) << "trial " << trial << " element " << i;
      } else {
        ASSERT_EQ(float_to_bits(fake[i]), float_to_bits(want)) << "trial " << trial << " element " << i;
      }
    }
  }
}

TEST(Quantize, RejectsBadArguments) {
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> packed(32), scales(8);
  expect_error([&] { quantize_nvfp4(x.data(), 2, 24, 1.0f, packed.data(), scales.data()); },
               "fp4moe: quantize_nvfp4: cols: expected a positive multiple of 16, got 24");
  expect_error([&] { quantize_nvfp4(x.data(), -1, 16, 1.0f, packed.data(), scales.data()); },
               "fp4moe: quantize_nvfp4: rows: expected a non-negative count, got -1");
  expect_error([&] { quantize_nvfp4(static_cast<const float*>(nullptr), 2, 16, 1.0f, packed.data(), scales.data()); },
               "fp4moe: quantize_nvfp4: x: expected a non-null pointer, got null");
  expect_error([&] { quantize_nvfp4(x.data(), 2, 16, 1.0f, nullptr, scales.data()); },
               "fp4moe: quantize_nvfp4: packed: expected a non-null pointer, got null");
  expect_error([&] { quantize_nvfp4(x.data(), 2, 16, 1.0f, packed.data(), nullptr); },
               "fp4moe: quantize_nvfp4: scales: expected a non-null pointer, got null");
  expect_error([&] { quantize_nvfp4(x.data(), 2, 16, -2.0f, packed.data(), scales.data()); },
               "fp4moe: quantize_nvfp4: global_scale: expected a finite positive value (or NaN, propagated), got -2");
  expect_error([&] { dequantize_nvfp4(packed.data(), scales.data(), 2, 8, ScaleLayout::kLinear, 1.0f, x.data()); },
               "fp4moe: dequantize_nvfp4: cols: expected a positive multiple of 16, got 8");
  expect_error([&] { swizzle_scales(scales.data(), 1, 100, packed.data()); },
               "fp4moe: swizzle_scales: cols: expected a positive multiple of 16, got 100");
  expect_error([&] { amax(static_cast<const float*>(nullptr), 3); },
               "fp4moe: amax: x: expected a non-null pointer, got null");
}

}  // namespace
}  // namespace fp4moe
