// Where token rows lie in a GEMM's shared memory: a stage's token tile, which both mainloops fill
// (gemm/token_tile.cuh), and a K slice's resident rows (gemm/mma_mainloop.cuh's run_resident).
// Host and device code, so that the CPU tests check the layouts (tests/cuda/test_token_layout.cpp).
#pragma once
#include "cuda/gemm/weight_layout.h"
#include "fp4moe/format/hd.h"

namespace fp4moe::cuda {

// A K step holds kTileK (64) BF16 of each token row: 128 bytes, eight 16-byte chunks.
inline constexpr int kTokenRowBytes = kTileK * 2;

// Within a row's 128 bytes of a K step, chunk `chunk` lives at chunk ^ (row % 8): ldmatrix's eight
// row reads of a matrix then hit eight different bank groups, and it is exactly the 128-byte
// swizzle that a wgmma shared-memory descriptor describes (common/wgmma.cuh).
FP4MOE_HD int swizzled_chunk_offset(int row, int chunk) { return (chunk ^ (row % 8)) * 16; }

// In a stage, the rows one after another.
FP4MOE_HD int token_chunk_offset(int row, int chunk) {
  return row * kTokenRowBytes + swizzled_chunk_offset(row, chunk);
}

// In a slice's resident rows, each row's `steps` K steps lie in a run.
FP4MOE_HD int resident_chunk_offset(int row, int step, int chunk, int steps) {
  return (row * steps + step) * kTokenRowBytes + swizzled_chunk_offset(row, chunk);
}

// Which of a slice's resident rows and K steps a group of eight copying threads (one chunk each)
// takes: the groups take the rows in turn (group g row g % rows), and a row's groups its steps (its
// j-th group the steps j, j + n, j + 2n, ..., n the groups on the row). groups >= rows >= 1.
struct ResidentShare {
  int row, first_step, step_stride;
};

FP4MOE_HD ResidentShare resident_share(int group, int groups, int rows) {
  const int row = group % rows;
  return {row, group / rows, (groups - row + rows - 1) / rows};
}

}  // namespace fp4moe::cuda
