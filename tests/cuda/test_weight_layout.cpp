// GEMM 1's private weight rows (gemm/weight_layout.h): host and device code, so these run without a
// GPU (CTest label `cpu`). The repack writes each checkpoint row where gate_up_row says, and the
// GateUp epilogue finds h's columns by the same interleave; a row dropped, doubled or put where the
// epilogue does not look would show on the GPU only as a wrong h, for the shapes a test reaches.
#include <vector>

#include <gtest/gtest.h>

#include "cuda/gemm/weight_layout.h"

namespace fp4moe::cuda {
namespace {

TEST(WeightLayout, GateUpRowsHoldEveryColumnOnceAsGateAndUp) {
  for (int intermediate : {16, 48, 64, 768, 1000, 2880}) {
    const PackedWeightShape shape = packed_weight_shape(WeightRole::kGateUp, 128, intermediate);
    const int64_t columns = shape.rows / 2;
    ASSERT_GE(columns, intermediate);
    std::vector<int> gate(size_t(columns), 0), up(size_t(columns), 0);
    for (int64_t row = 0; row < shape.rows; ++row) {
      const GateUpRow r = gate_up_row(row);
      ASSERT_GE(r.j, 0);
      ASSERT_LT(r.j, columns) << "I = " << intermediate << ", private row " << row;
      ++(r.is_up ? up : gate)[size_t(r.j)];
    }
    for (int64_t j = 0; j < columns; ++j) {
      ASSERT_EQ(gate[size_t(j)], 1) << "I = " << intermediate << ", gate column " << j;
      ASSERT_EQ(up[size_t(j)], 1) << "I = " << intermediate << ", up column " << j;
    }
  }
}

// What the epilogues rely on (gemm/epilogues.cuh): a tile's rows r and r + 8 are gate and up of one
// column, j = 8 * tile + r, so that an MMA thread holds both; tiles 2p and 2p + 1 hold the 16
// columns of one NVFP4 block of h (the quantizing epilogue's m-tile pair); a 128-row block holds 64
// whole columns (packed_weight_shape pads to it).
TEST(WeightLayout, TilesHoldGateAndUpOfEightColumns) {
  for (int64_t tile = 0; tile < 64; ++tile) {
    for (int r = 0; r < 8; ++r) {
      const GateUpRow g = gate_up_row(tile * kTileRows + r), u = gate_up_row(tile * kTileRows + r + 8);
      EXPECT_FALSE(g.is_up);
      EXPECT_TRUE(u.is_up);
      EXPECT_EQ(g.j, u.j);
      EXPECT_EQ(g.j, 8 * tile + r) << "tile " << tile << ", row " << r;
      EXPECT_EQ(g.j / 16, tile / 2) << "tile pair " << tile / 2 << " holds one 16-column block";
      EXPECT_EQ(g.j / 64, tile * kTileRows / 128) << "a 128-row block holds 64 whole columns";
    }
  }
}

}  // namespace
}  // namespace fp4moe::cuda
