// The kernel-private NVFP4 weight layout, prepared once at load (gemm/repack.cu).
//
// A weight matrix [N, K] is cut into tiles of 16 rows x 64 K. Tiles are stored with K fastest, so
// a warp owning 16 rows streams its tiles contiguously. Each tile is
//   codes : 512 bytes, lane l's 16 bytes at l*16 = its mma.m16n8k16 A fragments for the 4 k16
//           steps (u32 per step, from the checkpoint bytes {row g, k c}, {row g+8, k c},
//           {row g, k c+8}, {row g+8, k c+8} with g = l/4, c = 2*(l%4), each two consecutive-K
//           codes, encoded by format/weight_encoding.h);
//   scales: 64 bytes, at g*8 + half*4 + s the scale of row g + 8*half, k16 block s (encoded).
// So one 16-byte load per lane feeds 4 MMA steps, and a warp reads 512 contiguous bytes.
//
// GEMM 1 interleaves gate and up by 8-row groups (tile rows 0-7: gate j..j+7, rows 8-15: up
// j..j+7): an MMA thread then holds gate and up of the same j in its c0/c2 accumulators, and
// SwiGLU fuses into the epilogue with no data exchange. Padding rows and K are zero codes with
// zero scales, i.e. exact zeros.
#pragma once
#include <cstdint>

#include "fp4moe/format/hd.h"

namespace fp4moe::cuda {

inline constexpr int kTileRows = 16;
inline constexpr int kTileK = 64;
inline constexpr int kTileCodeBytes = kTileRows * kTileK / 2;  // 512
inline constexpr int kTileScaleBytes = kTileRows * kTileK / 16;  // 64
inline constexpr int kRowPadding = 128;  // the largest CTA row block; every row block is in bounds

enum class WeightRole : uint8_t { kGateUp, kDown };

struct PackedWeightShape {
  int64_t rows;  // padded private rows
  int64_t k;     // padded K
  FP4MOE_HD int64_t row_tiles() const { return rows / kTileRows; }
  FP4MOE_HD int64_t k_tiles() const { return k / kTileK; }
  FP4MOE_HD int64_t code_bytes() const { return rows * k / 2; }
  FP4MOE_HD int64_t scale_bytes() const { return rows * k / 16; }
};

// GEMM 1: W13 [2I, H] -> rows 2*round_up(I, 64) (64 j per 128-row block), K = round_up(H, 64).
// GEMM 2: W2 [H, I]   -> rows round_up(H, 128), K = round_up(I, 64).
FP4MOE_HD PackedWeightShape packed_weight_shape(WeightRole role, int hidden, int intermediate) {
  if (role == WeightRole::kGateUp) return {2 * round_up(intermediate, kRowPadding / 2), round_up(hidden, kTileK)};
  return {round_up(hidden, kRowPadding), round_up(intermediate, kTileK)};
}

// Private GEMM 1 row -> (is_up, j): the 8-row interleave described above.
struct GateUpRow {
  bool is_up;
  int64_t j;
};
FP4MOE_HD GateUpRow gate_up_row(int64_t private_row) {
  const int64_t in_tile = private_row % kTileRows;
  return {in_tile >= 8, (private_row / kTileRows) * 8 + in_tile % 8};
}

}  // namespace fp4moe::cuda
