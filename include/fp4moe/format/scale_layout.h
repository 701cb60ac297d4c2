// Where the E4M3 block scales of a [rows, K] NVFP4 matrix live (spec section 3).
// Linear: [rows, K/16] row-major. Swizzled 128x4: rows padded to 128, scale columns to 4, each
// 128x4 tile stored as 512 contiguous bytes, tiles row-major over (m/128, k/4).
#pragma once
#include "fp4moe/format/hd.h"

namespace fp4moe {

enum class ScaleLayout : uint8_t { kLinear, kSwizzled128x4 };

inline constexpr int kSwizzleRows = 128;
inline constexpr int kSwizzleCols = 4;

FP4MOE_HD int64_t scale_cols(int64_t k) { return k / 16; }

// Bytes one scale matrix occupies in a layout (the swizzled one includes its padding).
FP4MOE_HD int64_t scale_bytes(ScaleLayout layout, int64_t rows, int64_t k) {
  return layout == ScaleLayout::kLinear
             ? rows * scale_cols(k)
             : round_up(rows, kSwizzleRows) * round_up(scale_cols(k), kSwizzleCols);
}

// Byte offset of scale (m, kb) in the swizzled layout; padded_cols = round_up(K/16, 4).
FP4MOE_HD int64_t swizzled_scale_offset(int64_t m, int64_t kb, int64_t padded_cols) {
  const int64_t tile = (m / 128) * (padded_cols / 4) + kb / 4;
  return tile * 512 + (m % 32) * 16 + ((m / 32) % 4) * 4 + (kb % 4);
}

// Grouped (per-expert) activation scales in the swizzled layout: each group's rows start at a
// 128-aligned row, the running sum of the earlier groups' row counts each rounded up to 128
// (vLLM's and nvFuser's blockscale_offsets). This is one group's share of that sum.
FP4MOE_HD int64_t grouped_scale_rows(int64_t group_rows) { return round_up(group_rows, kSwizzleRows); }

// offsets[g] = first scale row of group g, offsets[groups] = total rows (groups + 1 entries).
inline void grouped_scale_row_offsets(const int64_t* group_rows, int64_t groups, int64_t* offsets) {
  offsets[0] = 0;
  for (int64_t g = 0; g < groups; ++g) offsets[g + 1] = offsets[g] + grouped_scale_rows(group_rows[g]);
}

FP4MOE_HD int64_t scale_offset(ScaleLayout layout, int64_t m, int64_t kb, int64_t k) {
  return layout == ScaleLayout::kLinear ? m * scale_cols(k) + kb
                                        : swizzled_scale_offset(m, kb, round_up(scale_cols(k), kSwizzleCols));
}

}  // namespace fp4moe
