// MXFP4 (format/mxfp4.h): E8M0 scales, dequantization against values written out here, and the NVFP4
// conversion: bit-exact wherever the block exponents span at most 17 octaves (random matrices, zero
// halves, -0 codes, exponents near both ends of E8M0's range), the blocks beyond that span counted and
// requantized while every other block stays exact, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/expect_error.h"
#include "common/rng.h"
#include "fp4moe/format/mxfp4.h"

namespace fp4moe {
namespace {

using testing::expect_error;

// E2M1 by its definition (spec section 1), independent of the codec.
float e2m1_value(uint8_t code) {
  constexpr float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  return (code & 8 ? -1.0f : 1.0f) * kMagnitude[code & 7];
}

struct Mxfp4Matrix {
  int64_t rows, cols;
  std::vector<uint8_t> packed, scales;

  float value(int64_t r, int64_t c) const {
    const uint8_t byte = packed[size_t((r * cols + c) / 2)];
    return e2m1_value(c % 2 ? byte >> 4 : byte & 0xF) *
           std::ldexp(1.0f, int(scales[size_t((r * cols + c) / 32)]) - 127);
  }
};

// Random codes, and block exponents 127 + [lo, hi].
Mxfp4Matrix random_mxfp4(int64_t rows, int64_t cols, int lo, int hi, uint64_t seed) {
  testing::Rng rng(seed);
  Mxfp4Matrix m{rows, cols, std::vector<uint8_t>(size_t(rows * cols / 2)),
                std::vector<uint8_t>(size_t(rows * cols / 32))};
  rng.fill_bytes(m.packed.data(), m.packed.size());
  for (uint8_t& s : m.scales) s = uint8_t(127 + lo + rng.below(hi - lo + 1));
  return m;
}

std::vector<float> nvfp4_values(const QuantizedWeight& q, int64_t rows, int64_t cols) {
  std::vector<float> out(size_t(rows * cols));
  dequantize_nvfp4(q.packed.data(), q.scales.data(), rows, cols, ScaleLayout::kLinear, q.scale_2, out.data());
  return out;
}

// Bit for bit (a -0 stays -0).
void expect_same_bits(float got, float want, const char* what, int64_t r, int64_t c) {
  uint32_t a, b;
  std::memcpy(&a, &got, 4);
  std::memcpy(&b, &want, 4);
  EXPECT_EQ(a, b) << what << " [" << r << ", " << c << "]: " << got << " against " << want;
}

TEST(Mxfp4, E8M0Scales) {
  EXPECT_EQ(e8m0_to_float(127), 1.0f);
  EXPECT_EQ(e8m0_to_float(128), 2.0f);
  EXPECT_EQ(e8m0_to_float(120), 1.0f / 128);
  EXPECT_EQ(e8m0_to_float(0), std::ldexp(1.0f, -127));  // a float subnormal, exact
  EXPECT_EQ(e8m0_to_float(254), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(e8m0_to_float(kE8M0NaN)));
}

TEST(Mxfp4, DequantizesAsDefined) {
  const Mxfp4Matrix m = random_mxfp4(3, 64, -6, 4, 1);
  std::vector<float> out(3 * 64);
  dequantize_mxfp4(m.packed.data(), m.scales.data(), 3, 64, out.data());
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 64; ++c) expect_same_bits(out[size_t(r * 64 + c)], m.value(r, c), "dequantized", r, c);
}

// Exponents spanning exactly 17 octaves, and spans placed near both ends of E8M0's range (where
// weight_scale_2 is clamped at 2^-118): every value exact, no block counted.
TEST(Mxfp4, ConvertsExactlyWithinEighteenOctaves) {
  const struct {
    int lo, hi;
  } spans[] = {{-12, 5}, {-3, -3}, {-126, -110}, {100, 117}, {-20, -8}};
  uint64_t seed = 10;
  for (const auto& span : spans) {
    const int64_t rows = 7, cols = 96;
    Mxfp4Matrix m = random_mxfp4(rows, cols, span.lo, span.hi, seed++);
    m.scales[0] = uint8_t(127 + span.lo);  // both ends present
    m.scales[1] = uint8_t(127 + span.hi);
    m.packed[16] |= 0x07;                    // and block 1 (bytes 16..31) non-zero
    const Nvfp4FromMxfp4 n = nvfp4_from_mxfp4(m.packed.data(), m.scales.data(), rows, cols);
    EXPECT_EQ(n.inexact_blocks, 0) << span.lo << ".." << span.hi;
    EXPECT_EQ(n.weight.scale_2, std::ldexp(1.0f, std::max(span.hi - 8, -118))) << span.lo << ".." << span.hi;
    EXPECT_EQ(n.weight.packed, m.packed) << "the codes are the same bytes";
    const std::vector<float> got = nvfp4_values(n.weight, rows, cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) expect_same_bits(got[size_t(r * cols + c)], m.value(r, c), "nvfp4", r, c);
  }
}

// Halves of a block with only zero codes (+0 or -0) get the scale 0; an all-zero matrix scale_2 1.
TEST(Mxfp4, ZeroHalvesAndZeroMatrices) {
  Mxfp4Matrix m = random_mxfp4(2, 64, -4, 0, 3);
  std::fill(m.packed.begin(), m.packed.begin() + 8, uint8_t(0x88));  // row 0, block 0, first half: -0
  m.packed[8] |= 0x01;                                                // its second half non-zero
  const Nvfp4FromMxfp4 n = nvfp4_from_mxfp4(m.packed.data(), m.scales.data(), 2, 64);
  EXPECT_EQ(n.weight.scales[0], 0);
  EXPECT_NE(n.weight.scales[1], 0);
  const std::vector<float> got = nvfp4_values(n.weight, 2, 64);
  for (int64_t c = 0; c < 64; ++c) expect_same_bits(got[size_t(c)], m.value(0, c), "nvfp4", 0, c);

  const std::vector<uint8_t> zeros(32 * 2, 0), scales(2 * 2, 130);
  const Nvfp4FromMxfp4 z = nvfp4_from_mxfp4(zeros.data(), scales.data(), 2, 64);
  EXPECT_EQ(z.weight.scale_2, 1.0f);
  EXPECT_EQ(z.weight.scales, std::vector<uint8_t>(8, 0));
  EXPECT_EQ(z.inexact_blocks, 0);
}

// A block 20 octaves below the largest is out of E4M3's reach: its two halves are requantized from
// their values at the matrix's global scale (and counted); every other block stays exact.
TEST(Mxfp4, BlocksBeyondTheSpanAreRequantizedAndCounted) {
  const int64_t rows = 4, cols = 64;
  Mxfp4Matrix m = random_mxfp4(rows, cols, -2, 2, 5);
  m.scales[0] = 127 + 2;
  m.packed[0] |= 0x07;  // the largest block holds a 6
  m.scales[5] = 127 - 18;
  for (int i = 0; i < 16; ++i) m.packed[size_t(5 * 16 + i)] = 0x77;  // block 5: every code 6
  const Nvfp4FromMxfp4 n = nvfp4_from_mxfp4(m.packed.data(), m.scales.data(), rows, cols);
  EXPECT_EQ(n.inexact_blocks, 2);
  const std::vector<float> got = nvfp4_values(n.weight, rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      if ((r * cols + c) / 32 == 5) {
        // 6 * 2^-18 at the global scale 2^6 asks for the block scale 2^-12, under half of E4M3's
        // smallest step (2^-9): the block becomes zeros, as NVFP4's quantizer makes it.
        EXPECT_EQ(got[size_t(r * cols + c)], 0.0f) << c;
      } else {
        expect_same_bits(got[size_t(r * cols + c)], m.value(r, c), "nvfp4", r, c);
      }
    }
  }
}

TEST(Mxfp4, Errors) {
  Mxfp4Matrix m = random_mxfp4(2, 64, -1, 1, 7);
  m.scales[3] = kE8M0NaN;
  expect_error([&] { nvfp4_from_mxfp4(m.packed.data(), m.scales.data(), 2, 64); },
               "fp4moe: nvfp4_from_mxfp4: scales: expected E8M0 scales other than 0xFF (NaN), got 0xFF at [1, 1]");
  expect_error([&] { nvfp4_from_mxfp4(m.packed.data(), m.scales.data(), 2, 48); },
               "nvfp4_from_mxfp4: cols: expected a positive multiple of 32, got 48");
  expect_error([&] { nvfp4_from_mxfp4(nullptr, m.scales.data(), 2, 64); }, "nvfp4_from_mxfp4: packed: expected");
  std::vector<float> out(128);
  expect_error([&] { dequantize_mxfp4(m.packed.data(), nullptr, 2, 64, out.data()); },
               "dequantize_mxfp4: scales: expected a non-null pointer");
}

}  // namespace
}  // namespace fp4moe
