// BF16 conversions: every BF16 value round-trips through float, float -> BF16 rounds to nearest
// with ties to even, overflow goes to Inf, NaN stays NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "fp4moe/format/bf16.h"

namespace fp4moe {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Bf16, EveryValueRoundTrips) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const float f = bf16_to_float(bf16{uint16_t(b)});
    uint32_t f_bits;
    std::memcpy(&f_bits, &f, 4);
    EXPECT_EQ(f_bits, b << 16) << b;
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(f)))) << b;
    } else {
      EXPECT_EQ(float_to_bf16(f).bits, b) << b;
    }
  }
}

TEST(Bf16, RoundsToNearestTiesToEven) {
  EXPECT_EQ(float_to_bf16(from_bits(0x3F808000)).bits, 0x3F80);  // tie, even below
  EXPECT_EQ(float_to_bf16(from_bits(0x3F818000)).bits, 0x3F82);  // tie, even above
  EXPECT_EQ(float_to_bf16(from_bits(0x3F808001)).bits, 0x3F81);  // just above the tie
  EXPECT_EQ(float_to_bf16(from_bits(0x3F807FFF)).bits, 0x3F80);  // just below
  EXPECT_EQ(float_to_bf16(from_bits(0xBF808001)).bits, 0xBF81);  // negative
}

TEST(Bf16, OverflowAndSpecials) {
  EXPECT_EQ(float_to_bf16(3.4e38f).bits, 0x7F80);  // rounds past the largest BF16 to Inf
  EXPECT_EQ(float_to_bf16(INFINITY).bits, 0x7F80);
  EXPECT_EQ(float_to_bf16(-INFINITY).bits, 0xFF80);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(from_bits(0x7F800001)))));  // a NaN whose top bits look like Inf
}

}  // namespace
}  // namespace fp4moe
