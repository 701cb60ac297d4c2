// E2M1 codec: the value table, every rounding boundary (ties to even), saturation, NaN, packing,
// agreement with the brute-force scalar encoder on random inputs, and the encode-free rounding of
// fake quantization against encode then decode on every float.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "common/rng.h"
#include "common/scalar_nvfp4.h"
#include "fp4moe/format/nvfp4.h"
#include "util/parallel.h"

namespace fp4moe {
namespace {

constexpr float kMagnitudes[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};

TEST(E2M1, DecodesEveryCode) {
  for (int code = 0; code < 16; ++code) {
    const float expected = (code & 8) ? -kMagnitudes[code & 7] : kMagnitudes[code & 7];
    EXPECT_EQ(e2m1_to_float(uint8_t(code)), expected) << "code " << code;
  }
  EXPECT_TRUE(std::signbit(e2m1_to_float(8)));  // -0
}

TEST(E2M1, EveryCodeReencodesToItself) {
  for (int code = 0; code < 16; ++code) EXPECT_EQ(float_to_e2m1(e2m1_to_float(uint8_t(code))), code);
}

// For each pair of adjacent magnitudes: the midpoint goes to the even code, the floats just below
// and just above it go to the nearer code. Both signs.
TEST(E2M1, EveryBoundaryRoundsToNearestTiesToEven) {
  for (int lo = 0; lo < 7; ++lo) {
    const float mid = (kMagnitudes[lo] + kMagnitudes[lo + 1]) / 2;
    const int even = lo % 2 == 0 ? lo : lo + 1;
    for (const float sign : {1.0f, -1.0f}) {
      const uint8_t s = sign < 0 ? 8 : 0;
      EXPECT_EQ(float_to_e2m1(sign * mid), s | even) << "tie at " << sign * mid;
      EXPECT_EQ(float_to_e2m1(sign * std::nextafter(mid, 0.0f)), s | lo) << "below " << sign * mid;
      EXPECT_EQ(float_to_e2m1(sign * std::nextafter(mid, 100.0f)), s | (lo + 1)) << "above " << sign * mid;
    }
  }
}

TEST(E2M1, SaturatesPastSix) {
  for (const float x : {6.0f, 6.5f, 7.0f, 1e6f, 3.4e38f, INFINITY}) {
    EXPECT_EQ(float_to_e2m1(x), 7) << x;
    EXPECT_EQ(float_to_e2m1(-x), 15) << -x;
  }
}

TEST(E2M1, TinyValuesRoundToSignedZero) {
  EXPECT_EQ(float_to_e2m1(1e-30f), 0);
  EXPECT_EQ(float_to_e2m1(-1e-30f), 8);
  EXPECT_EQ(float_to_e2m1(-0.0f), 8);
}

// E2M1 has no NaN: the element saturates to +6 and the block scale carries the NaN (see the
// quantizer tests). The sign of a NaN is ignored so host and device agree.
TEST(E2M1, NanBecomesPositiveMax) {
  EXPECT_EQ(float_to_e2m1(NAN), 7);
  EXPECT_EQ(float_to_e2m1(-NAN), 7);
}

TEST(E2M1, MatchesBruteForceOnRandomFloats) {
  testing::Rng rng(1);
  for (int i = 0; i < 200000; ++i) {
    const float x = float(rng.uniform(-8.0, 8.0));
    ASSERT_EQ(float_to_e2m1(x), testing::scalar::e2m1_encode(x)) << x;
  }
}

// The encode-free rounding of fake quantization against encode then decode, bit for bit, on all
// 2^32 float bit patterns (both signs, subnormals, every boundary, Inf, every NaN).
TEST(E2M1, RoundEqualsEncodeThenDecodeForEveryFloat) {
  std::atomic<int64_t> mismatches{0};
  std::atomic<uint32_t> first{0};
  constexpr int64_t kSlices = 256;
  parallel_for(kSlices, 0, [&](int64_t first_slice, int64_t end_slice) {
    int64_t bad = 0;
    const uint64_t begin = uint64_t(first_slice) << 24, end = uint64_t(end_slice) << 24;
    for (uint64_t b = begin; b < end; ++b) {
      const float x = bits_to_float(uint32_t(b));
      if (float_to_bits(e2m1_round(x)) != float_to_bits(e2m1_to_float(float_to_e2m1(x))) && bad++ == 0)
        first = uint32_t(b);
    }
    mismatches += bad;
  });
  EXPECT_EQ(mismatches.load(), 0) << "first at bits 0x" << std::hex << first.load();
}

TEST(E2M1, PacksEvenElementInLowNibble) {
  EXPECT_EQ(pack_e2m1x2(0x3, 0xA), 0xA3);
  EXPECT_EQ(unpack_e2m1(0xA3, 0), 0x3);
  EXPECT_EQ(unpack_e2m1(0xA3, 1), 0xA);
  for (int lo = 0; lo < 16; ++lo)
    for (int hi = 0; hi < 16; ++hi) {
      const uint8_t b = pack_e2m1x2(uint8_t(lo), uint8_t(hi));
      EXPECT_EQ(unpack_e2m1(b, 0), lo);
      EXPECT_EQ(unpack_e2m1(b, 1), hi);
    }
}

}  // namespace
}  // namespace fp4moe
