// Where the GEMMs put token rows in shared memory (gemm/token_layout.h): host and device code, so
// these run without a GPU (CTest label `cpu`) wherever the CUDA backend is built. A layout that
// overlaps chunks, leaves a row's step uncopied or makes ldmatrix's eight rows share a bank group
// would show on the GPU only as a wrong or slow result, if a test's shapes happened to reach it.
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "cuda/gemm/token_layout.h"

namespace fp4moe::cuda {
namespace {

constexpr int kChunks = kTokenRowBytes / 16;

// The 16-byte bank group (of eight) a chunk offset falls in.
int bank_group(int offset) { return offset / 16 % 8; }

TEST(TokenLayout, StageChunksFillTheirRowsAndSpreadOverTheBanks) {
  for (int rows : {8, 16, 64, 128}) {
    std::set<int> offsets;
    for (int row = 0; row < rows; ++row) {
      for (int chunk = 0; chunk < kChunks; ++chunk) {
        const int at = token_chunk_offset(row, chunk);
        ASSERT_EQ(at % 16, 0);
        ASSERT_EQ(at / kTokenRowBytes, row) << "a chunk stays in its row";
        offsets.insert(at);
      }
    }
    EXPECT_EQ(int(offsets.size()), rows * kChunks) << rows << " rows: every chunk its own 16 bytes";
  }
  // ldmatrix reads one chunk column of eight consecutive rows (any eight from a multiple of 8).
  for (int first = 0; first < 64; first += 8) {
    for (int chunk = 0; chunk < kChunks; ++chunk) {
      std::set<int> groups;
      for (int row = first; row < first + 8; ++row) groups.insert(bank_group(token_chunk_offset(row, chunk)));
      EXPECT_EQ(groups.size(), 8u) << "rows " << first << "+, chunk " << chunk;
    }
  }
}

TEST(TokenLayout, ResidentRowsFillTheirBytesAndSpreadOverTheBanks) {
  for (int rows = 1; rows <= 8; ++rows) {
    for (int steps = 1; steps <= 64; ++steps) {
      std::vector<int> uses(size_t(rows * steps * kChunks), 0);
      for (int row = 0; row < rows; ++row)
        for (int step = 0; step < steps; ++step)
          for (int chunk = 0; chunk < kChunks; ++chunk) {
            const int at = resident_chunk_offset(row, step, chunk, steps);
            ASSERT_EQ(at % 16, 0);
            ASSERT_TRUE(at >= 0 && at < rows * steps * kTokenRowBytes) << rows << " rows, " << steps << " steps";
            ++uses[size_t(at / 16)];
            // The mainloop reaches the second k16 pair's chunks (4-7) as the first's offset ^ 64.
            if (chunk < 4) ASSERT_EQ(resident_chunk_offset(row, step, chunk + 4, steps), at ^ 64);
          }
      for (int u : uses) ASSERT_EQ(u, 1) << rows << " rows, " << steps << " steps: every 16 bytes once";
      // ldmatrix reads one chunk of one step of the eight rows (the tile's rows, the last repeated
      // past them: a repeated address is one read).
      for (int step = 0; step < steps; ++step)
        for (int chunk = 0; chunk < kChunks; ++chunk) {
          std::set<int> groups;
          for (int row = 0; row < rows; ++row)
            groups.insert(bank_group(resident_chunk_offset(row, step, chunk, steps)));
          ASSERT_EQ(int(groups.size()), rows) << rows << " rows, step " << step << ", chunk " << chunk;
        }
    }
  }
}

TEST(TokenLayout, ResidentSharesCopyEveryRowAndStepOnce) {
  for (int groups : {4, 16, 32}) {
    for (int rows = 1; rows <= groups; ++rows) {
      for (int steps : {0, 1, 3, 8, 17, 33, 64}) {
        std::vector<int> copies(size_t(rows * steps), 0);
        for (int group = 0; group < groups; ++group) {
          const ResidentShare s = resident_share(group, groups, rows);
          ASSERT_TRUE(s.row >= 0 && s.row < rows);
          ASSERT_GE(s.step_stride, 1);
          for (int step = s.first_step; step < steps; step += s.step_stride) ++copies[size_t(s.row * steps + step)];
        }
        for (int c : copies) ASSERT_EQ(c, 1) << groups << " groups, " << rows << " rows, " << steps << " steps";
      }
    }
  }
}

}  // namespace
}  // namespace fp4moe::cuda
