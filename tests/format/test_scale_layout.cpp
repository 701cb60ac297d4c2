// Scale-factor layouts of spec section 3: the swizzled 128x4 offset formula on hand-picked points,
// that it is a bijection onto the padded buffer, byte counts, and swizzle/unswizzle round trips.
#include <gtest/gtest.h>

#include <vector>

#include "common/rng.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/format/scale_layout.h"

namespace fp4moe {
namespace {

TEST(ScaleLayout, SwizzledOffsetFormula) {
  // K = 128 -> 8 scale columns, already a multiple of 4: two 128x4 tiles per 128 rows.
  const int64_t cols = 8;
  EXPECT_EQ(swizzled_scale_offset(0, 0, cols), 0);
  EXPECT_EQ(swizzled_scale_offset(0, 3, cols), 3);
  EXPECT_EQ(swizzled_scale_offset(1, 0, cols), 16);
  EXPECT_EQ(swizzled_scale_offset(31, 0, cols), 31 * 16);
  EXPECT_EQ(swizzled_scale_offset(32, 0, cols), 4);
  EXPECT_EQ(swizzled_scale_offset(96, 2, cols), 12 + 2);
  EXPECT_EQ(swizzled_scale_offset(0, 4, cols), 512);          // next tile along k
  EXPECT_EQ(swizzled_scale_offset(128, 0, cols), 2 * 512);    // next tile row
  EXPECT_EQ(swizzled_scale_offset(130, 5, cols), 3 * 512 + 2 * 16 + 1);
  EXPECT_EQ(swizzled_scale_offset(127, 7, cols), 512 + 31 * 16 + 3 * 4 + 3);
  // scale_offset converts K to scale columns and pads them to 4: K = 48 -> 3 -> 4.
  EXPECT_EQ(scale_offset(ScaleLayout::kSwizzled128x4, 128, 0, 48), 512);
  EXPECT_EQ(scale_offset(ScaleLayout::kLinear, 2, 1, 48), 7);
}

TEST(ScaleLayout, ByteCounts) {
  EXPECT_EQ(scale_bytes(ScaleLayout::kLinear, 3, 48), 9);
  EXPECT_EQ(scale_bytes(ScaleLayout::kSwizzled128x4, 3, 48), 128 * 4);
  EXPECT_EQ(scale_bytes(ScaleLayout::kSwizzled128x4, 129, 80), 256 * 8);
  EXPECT_EQ(scale_bytes(ScaleLayout::kSwizzled128x4, 256, 128), 256 * 8);
}

// Over the padded index space every offset is hit exactly once and stays inside the buffer.
TEST(ScaleLayout, SwizzleIsABijection) {
  for (const int64_t rows : {1, 128, 200, 384})
    for (const int64_t k : {16, 48, 64, 112, 256}) {
      const int64_t padded_rows = round_up(rows, 128), padded_cols = round_up(k / 16, 4);
      const int64_t bytes = scale_bytes(ScaleLayout::kSwizzled128x4, rows, k);
      ASSERT_EQ(bytes, padded_rows * padded_cols);
      std::vector<int> hits(size_t(bytes), 0);
      for (int64_t m = 0; m < padded_rows; ++m)
        for (int64_t kb = 0; kb < padded_cols; ++kb) {
          const int64_t off = swizzled_scale_offset(m, kb, padded_cols);
          ASSERT_GE(off, 0);
          ASSERT_LT(off, bytes);
          ++hits[size_t(off)];
        }
      for (int h : hits) ASSERT_EQ(h, 1) << rows << "x" << k;
    }
}

TEST(ScaleLayout, SwizzleRoundTripsAndZeroesPadding) {
  testing::Rng rng(7);
  const int64_t rows = 200, k = 48;
  std::vector<uint8_t> linear(size_t(rows * k / 16));
  rng.fill_bytes(linear.data(), linear.size());
  std::vector<uint8_t> swizzled(size_t(scale_bytes(ScaleLayout::kSwizzled128x4, rows, k)), 0xCD);
  swizzle_scales(linear.data(), rows, k, swizzled.data());
  std::vector<char> is_data(swizzled.size(), 0);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t kb = 0; kb < k / 16; ++kb) {
      const int64_t off = scale_offset(ScaleLayout::kSwizzled128x4, m, kb, k);
      EXPECT_EQ(swizzled[size_t(off)], linear[size_t(m * 3 + kb)]);
      is_data[size_t(off)] = 1;
    }
  for (size_t i = 0; i < swizzled.size(); ++i)
    if (!is_data[i]) ASSERT_EQ(swizzled[i], 0) << "padding byte " << i;
  std::vector<uint8_t> back(linear.size());
  unswizzle_scales(swizzled.data(), rows, k, back.data());
  EXPECT_EQ(back, linear);
}

// Per-group 128-row alignment (spec section 3): hand-computed offsets, empty groups included.
TEST(ScaleLayout, GroupedRowOffsetsAre128Aligned) {
  const int64_t rows[] = {0, 1, 128, 129, 5, 0, 300};
  int64_t offsets[8];
  grouped_scale_row_offsets(rows, 7, offsets);
  const int64_t want[8] = {0, 0, 128, 256, 512, 640, 640, 1024};
  for (int g = 0; g <= 7; ++g) EXPECT_EQ(offsets[g], want[g]) << "group " << g;
  // A group's swizzled scales then never share a 128-row tile with its neighbour's.
  for (int g = 0; g < 7; ++g) EXPECT_EQ(offsets[g] % 128, 0);
}

}  // namespace
}  // namespace fp4moe
