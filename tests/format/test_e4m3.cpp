// E4M3 (FN) codec: all 256 codes decode to the spec's values and re-encode to themselves, every
// boundary between adjacent codes rounds to nearest with ties to even, saturation to 448, NaN.
#include <gtest/gtest.h>

#include <cmath>

#include "common/rng.h"
#include "common/scalar_nvfp4.h"
#include "fp4moe/format/nvfp4.h"

namespace fp4moe {
namespace {

bool is_nan_code(int code) { return (code & 0x7F) == 0x7F; }

TEST(E4M3, DecodesAll256Codes) {
  for (int code = 0; code < 256; ++code) {
    const double expected = testing::scalar::e4m3_value(uint8_t(code));
    const float got = e4m3_to_float(uint8_t(code));
    if (is_nan_code(code)) {
      EXPECT_TRUE(std::isnan(got)) << "code " << code;
    } else {
      EXPECT_EQ(double(got), expected) << "code " << code;
      EXPECT_EQ(std::signbit(got), code >= 0x80) << "code " << code;
    }
  }
  EXPECT_EQ(e4m3_to_float(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(e4m3_to_float(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(e4m3_to_float(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_float(0xFE), -448.0f);
}

TEST(E4M3, EveryCodeReencodesToItself) {
  for (int code = 0; code < 256; ++code) {
    if (is_nan_code(code)) continue;
    EXPECT_EQ(float_to_e4m3(e4m3_to_float(uint8_t(code))), code) << "code " << code;
  }
}

// Midpoints of adjacent codes go to the even code; the floats next to them to the nearer one.
TEST(E4M3, EveryBoundaryRoundsToNearestTiesToEven) {
  for (int lo = 0; lo < 0x7E; ++lo) {
    const float a = e4m3_to_float(uint8_t(lo)), b = e4m3_to_float(uint8_t(lo + 1));
    const float mid = (a + b) / 2;  // exact: a and b have few significant bits
    const int even = lo % 2 == 0 ? lo : lo + 1;
    for (const float sign : {1.0f, -1.0f}) {
      const int s = sign < 0 ? 0x80 : 0;
      EXPECT_EQ(float_to_e4m3(sign * mid), s | even) << "tie at " << sign * mid;
      EXPECT_EQ(float_to_e4m3(sign * std::nextafter(mid, 0.0f)), s | lo) << "below " << sign * mid;
      EXPECT_EQ(float_to_e4m3(sign * std::nextafter(mid, 1e9f)), s | (lo + 1)) << "above " << sign * mid;
    }
  }
}

TEST(E4M3, SaturatesToMaxFinite) {
  for (const float x : {448.0f, 449.0f, 464.0f, 480.0f, 1e6f, 3.4e38f, INFINITY}) {
    EXPECT_EQ(float_to_e4m3(x), 0x7E) << x;
    EXPECT_EQ(float_to_e4m3(-x), 0xFE) << -x;
  }
}

TEST(E4M3, UnderflowsToSignedZero) {
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.0f, -10)), 0x00);  // half the smallest subnormal: tie to 0
  EXPECT_EQ(float_to_e4m3(std::nextafter(std::ldexp(1.0f, -10), 1.0f)), 0x01);
  EXPECT_EQ(float_to_e4m3(1e-30f), 0x00);
  EXPECT_EQ(float_to_e4m3(-1e-30f), 0x80);
  EXPECT_EQ(float_to_e4m3(0.0f), 0x00);
  EXPECT_EQ(float_to_e4m3(-0.0f), 0x80);
}

TEST(E4M3, NanStaysNan) {
  EXPECT_EQ(float_to_e4m3(NAN) & 0x7F, 0x7F);
  EXPECT_TRUE(std::isnan(e4m3_to_float(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0xFF)));
}

TEST(E4M3, MatchesBruteForceOnRandomFloats) {
  testing::Rng rng(2);
  for (int i = 0; i < 100000; ++i) {
    // Log-uniform magnitudes over the whole range, subnormals and overflow included.
    const float x = float((rng.uniform() < 0.5 ? -1 : 1) * std::exp2(rng.uniform(-12.0, 10.0)));
    ASSERT_EQ(float_to_e4m3(x), testing::scalar::e4m3_encode(x)) << x;
  }
}

}  // namespace
}  // namespace fp4moe
