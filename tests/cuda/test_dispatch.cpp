// The tuning table and the names benchmarks force kernels by: host code only, so these run
// without a GPU (CTest label `cpu`) wherever the CUDA backend is built.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "cuda/gemm/decode_gemm.h"
#include "cuda/moe/dispatch.h"
#include "cuda/moe/hopper_waves.h"
#include "cuda/moe/workspace.h"
#include "fp4moe/error.h"

namespace fp4moe::cuda {
namespace {

bool compiled(const MmaTileConfig& c) {
  for (const MmaTileConfig& t : compiled_gemm_tiles())
    if (t == c) return true;
  return false;
}

TEST(Dispatch, CompiledShapesHaveDistinctNames) {
  std::set<std::string> names;
  for (const MmaTileConfig& c : compiled_gemm_tiles()) EXPECT_TRUE(names.insert(gemm_name(c)).second) << gemm_name(c);
  EXPECT_TRUE(names.count("mma8-r64-w4-s8-d4")) << "the name format the benchmark docs use";
  EXPECT_TRUE(names.count("mma8-r64-w4-s8-d4-k2")) << "a K split shows in the name";
  EXPECT_TRUE(names.count("wgmma32-r256-w8-s8-c2")) << "CTAs per SM beyond one show in the name";
}

TEST(Dispatch, TableRowsAreCompiledAndAscending) {
  double previous = 0.0;
  for (const DispatchRow& row : kDispatchTable) {
    EXPECT_GT(row.max_rows_per_expert, previous);
    previous = row.max_rows_per_expert;
    EXPECT_TRUE(compiled(row.gemm)) << gemm_name(row.gemm);
    EXPECT_TRUE(compiled(row.hopper_gemm)) << gemm_name(row.hopper_gemm);
    EXPECT_FALSE(row.gemm.wgmma) << "the sm_80 column cannot run wgmma";
    EXPECT_GE(row.gemm.block_tokens, min_block_tokens());
    EXPECT_GE(row.hopper_gemm.block_tokens, min_block_tokens());
  }
}

TEST(Dispatch, ChoosesByRowsPerExpert) {
  MoeConfig c;
  c.num_experts = 256;
  c.hidden = 7168;
  c.intermediate = 2048;
  c.top_k = 8;
  c.max_tokens = 16384;
  // rows per expert = T * 8 / 256
  EXPECT_EQ(gemm_name(choose_gemm(1, c, true)), "mma8-r64-w4-s8-d4-k2");
  EXPECT_EQ(gemm_name(choose_gemm(1, c, false)), "mma8-r64-w4-s8-d4-k2");
  // To 5 rows the K-split tile, which choose_kernels keeps only where GEMM 2 has few waves of it (for_gemm2_waves).
  EXPECT_EQ(gemm_name(choose_gemm(8, c, true)), "mma8-r64-w4-s8-d4-k2");
  EXPECT_EQ(gemm_name(choose_gemm(160, c, true)), "mma8-r64-w4-s8-d4-k2");  // 5 rows
  EXPECT_EQ(gemm_name(choose_gemm(192, c, true)), "mma8-r128-w4-s8-d4");  // 6 rows
  EXPECT_EQ(gemm_name(choose_gemm(192, c, false)), "mma16-r128-w4-s4-d4");
  EXPECT_EQ(gemm_name(choose_gemm(224, c, true)), "mma16-r128-w4-s4-d4");  // 7 rows
  EXPECT_EQ(gemm_name(choose_gemm(240, c, true)), "mma16-r128-w4-s4-d4");  // 7.5 rows
  // From 7.5 rows the 32-token tile where both K are long (7168, 2048 here), the 16-token one where one is short.
  EXPECT_EQ(gemm_name(choose_gemm(241, c, true)), "wgmma32-r256-w8-s8-c2");
  EXPECT_EQ(gemm_name(choose_gemm(320, c, true)), "wgmma32-r256-w8-s8-c2");  // 10 rows
  EXPECT_EQ(gemm_name(choose_gemm(320, c, false)), "mma16-r128-w4-s4-d4");
  MoeConfig short_k = c;
  short_k.intermediate = kWgmma32LongKMinK - 16;
  EXPECT_EQ(gemm_name(choose_gemm(256, short_k, true)), "mma16-r128-w4-s4-d4");
  EXPECT_EQ(gemm_name(choose_gemm(320, short_k, true)), "mma16-r128-w4-s4-d4");
  EXPECT_EQ(gemm_name(choose_gemm(352, short_k, true)), "wgmma32-r256-w8-s8-c2");
  EXPECT_EQ(gemm_name(choose_gemm(352, c, true)), "wgmma32-r256-w8-s8-c2");
  EXPECT_EQ(gemm_name(choose_gemm(352, c, false)), "mma16-r128-w4-s4-d4");
  EXPECT_EQ(gemm_name(choose_gemm(512, c, true)), "wgmma32-r256-w8-s8-c2");
  EXPECT_EQ(gemm_name(choose_gemm(512, c, false)), "mma32-r128-w4-s4-d2");
  EXPECT_EQ(gemm_name(choose_gemm(768, c, true)), "wgmma32-r256-w8-s8-c2");
  EXPECT_EQ(gemm_name(choose_gemm(768, c, false)), "mma32-r128-w4-s4-d2");
  EXPECT_EQ(gemm_name(choose_gemm(1024, c, true)), "wgmma48-r256-w8-s7-c2");
  EXPECT_EQ(gemm_name(choose_gemm(1024, c, false)), "mma32-r128-w4-s4-d2");
  EXPECT_EQ(gemm_name(choose_gemm(1280, c, true)), "wgmma48-r256-w8-s7-c2");
  EXPECT_EQ(gemm_name(choose_gemm(1280, c, false)), "mma64-r128-w4-s2-d2");
  EXPECT_EQ(gemm_name(choose_gemm(1408, c, true)), "wgmma48-r256-w8-s7-c2");
  EXPECT_EQ(gemm_name(choose_gemm(1440, c, true)), "wgmma64-r256-w8-s8");
  EXPECT_EQ(gemm_name(choose_gemm(1536, c, true)), "wgmma64-r256-w8-s8");
  EXPECT_EQ(gemm_name(choose_gemm(1536, c, false)), "mma64-r128-w4-s2-d2");
  EXPECT_EQ(gemm_name(choose_gemm(16384, c, true)), "wgmma128-r256-w8-s8");
  EXPECT_FALSE(choose_gemm(16384, c, false).wgmma);
}

TEST(Dispatch, DecodeGemmsSplitDeeperWhenTheirGridFitsOneWave) {
  ASSERT_TRUE(compiled(kDecodeTile));
  ASSERT_TRUE(compiled(kDecodeTileOneWave));
  EXPECT_EQ(gemm_name(kDecodeTileOneWave), "mma8-r64-w4-s8-d4-k4");
  using Tiles = std::pair<MmaTileConfig, MmaTileConfig>;
  const Tiles two{kDecodeTile, kDecodeTile}, four{kDecodeTileOneWave, kDecodeTileOneWave};
  const Tiles down_only{kDecodeTile, kDecodeTileOneWave};
  // 132 SMs x 2 CTAs of the four-slice tile; a K of 64 * 4 * s leaves s steps a slice. A grid is {CTAs with work at
  // most, expected CTAs, K}.
  const int64_t wave = 264;
  const int short_k = 64 * 4 * (kFourSliceMinSteps - 1), long_k = 64 * 4 * kFourSliceMinSteps;
  EXPECT_EQ(for_grid(kDecodeTile, {wave, wave, long_k}, {wave, wave, long_k}, wave), four) << "a full wave still fits";
  EXPECT_EQ(for_grid(kDecodeTile, {1, 1, long_k}, {1, 1, short_k}, wave), two) << "GEMM 2 a step short: both on two";
  EXPECT_EQ(for_grid(kDecodeTile, {1, 1, short_k}, {1, 1, long_k}, wave), down_only) << "GEMM 1 a step short";
  EXPECT_EQ(for_grid(kDecodeTile, {wave + 1, 1, long_k}, {1, 1, long_k}, wave), down_only) << "GEMM 1 beyond one wave";
  EXPECT_EQ(for_grid(kDecodeTile, {1, 1, long_k}, {wave + 1, 1, long_k}, wave), two) << "GEMM 2 beyond one wave";
  // Past one wave GEMM 2 takes four slices where they keep kFourSliceLongSteps K steps and it expects at most
  // kFourSliceLongMaxWaves waves; GEMM 1 beside it as before, only within one wave.
  const int longer_k = 64 * 4 * kFourSliceLongSteps, shorter_k = longer_k - 64 * 4;
  const auto line = int64_t(kFourSliceLongMaxWaves * double(wave)), past = 4 * wave;
  EXPECT_EQ(for_grid(kDecodeTile, {past, past, long_k}, {past, line, longer_k}, wave), down_only) << "long slices";
  EXPECT_EQ(for_grid(kDecodeTile, {past, past, long_k}, {past, line + 1, longer_k}, wave), two) << "past the line";
  EXPECT_EQ(for_grid(kDecodeTile, {past, past, long_k}, {past, line, shorter_k}, wave), two) << "a step short";
  EXPECT_EQ(for_grid(kDecodeTile, {wave, wave, long_k}, {past, line, longer_k}, wave), four) << "GEMM 1 in one wave";
  // The benchmark shapes at one token (4 or 8 experts x 64-row blocks): gpt-oss GEMM 1 beyond one wave, GEMM 2 12
  // steps a slice; qwen3's GEMM 2 (K 768) 3 steps; deepseek-v3's both beyond one wave.
  EXPECT_EQ(for_grid(kDecodeTile, {4 * 90, 4 * 90, 2880}, {4 * 45, 4 * 45, 2880}, wave), down_only);
  EXPECT_EQ(for_grid(kDecodeTile, {8 * 24, 8 * 24, 2048}, {8 * 32, 8 * 32, 768}, wave), two);
  EXPECT_EQ(for_grid(kDecodeTile, {8 * 64, 8 * 64, 7168}, {8 * 112, 8 * 112, 2048}, wave), two);
  // Only the two-slice decode tile is ever replaced.
  EXPECT_EQ(for_grid(kSmallBatchTile, {1, 1, 7168}, {1, 1, 7168}, wave), Tiles(kSmallBatchTile, kSmallBatchTile));
}

TEST(Dispatch, DecodeKernelsForSmallBatchesWithinOneWave) {
  EXPECT_TRUE(has_decode_gemm(kDecodeTile));
  EXPECT_TRUE(has_decode_gemm(kDecodeTileOneWave));
  EXPECT_TRUE(has_decode_gemm({4, 1, 8, 8, 4}));
  EXPECT_FALSE(has_decode_gemm({4, 2, 16, 4, 4})) << "8-token blocks only";
  EXPECT_FALSE(has_decode_gemm(kWgmma64)) << "mma.sync only";
  // qwen3 at one token: 8 experts x 32 row blocks of GEMM 2, one wave of the four-slice tile 264.
  const int64_t x = 2048;  // one token of qwen3
  EXPECT_TRUE(use_decode_kernels(QuantMode::kW4A16, 8, x, true, 256, 264));
  EXPECT_TRUE(use_decode_kernels(QuantMode::kW4A16, kDecodeKernelsMaxPairs, x, true, 264, 264));
  EXPECT_FALSE(use_decode_kernels(QuantMode::kW4A16, kDecodeKernelsMaxPairs + 1, x, true, 10, 264));
  EXPECT_FALSE(use_decode_kernels(QuantMode::kW4A16, 8, x, true, 265, 264)) << "a second wave";
  EXPECT_FALSE(use_decode_kernels(QuantMode::kW4A16, 8, x, false, 256, 264)) << "a tile without decode kernels";
  EXPECT_TRUE(use_decode_kernels(QuantMode::kW4A4, 8, kDecodeQuantizeMaxElements, true, 256, 264));
  EXPECT_FALSE(use_decode_kernels(QuantMode::kW4A4, 8, kDecodeQuantizeMaxElements + 1, true, 256, 264))
      << "W4A4: x small enough for every CTA of its quantization to take the amax of all of it";
  EXPECT_TRUE(use_decode_kernels(QuantMode::kW4A16, 8, kDecodeQuantizeMaxElements + 1, true, 256, 264));
}

// The four benchmark shapes of shared/spec/benchmarking.md, W4A16, up to 64 tokens.
const MoeConfig kQwen3{128, 2048, 768, 8, {}, QuantMode::kW4A16, 0, -1, 64};
const MoeConfig kGptOss{128, 2880, 2880, 4, {}, QuantMode::kW4A16, 0, -1, 64};
const MoeConfig kDsv4{256, 4096, 2048, 6, {}, QuantMode::kW4A16, 0, -1, 64};
const MoeConfig kDsv3{256, 7168, 2048, 8, {}, QuantMode::kW4A16, 0, -1, 64};

TEST(Dispatch, SmallBatchTileTakesTwoMTilesWhereThatNeedsFewerWaves) {
  ASSERT_TRUE(compiled(kSmallBatchTile));
  ASSERT_TRUE(compiled(kSmallBatchTileTwoMTiles));
  EXPECT_EQ(gemm_name(kSmallBatchTileTwoMTiles), "mma8-r128-w4-s8-d4");
  // qwen3 (128 experts, top-8): one token touches 8, eight tokens about 51.6, many all 128.
  EXPECT_NEAR(expected_touched_experts(1, kQwen3), 8.0, 1e-9);
  EXPECT_NEAR(expected_touched_experts(8, kQwen3), 51.6, 0.1);
  EXPECT_NEAR(expected_touched_experts(4096, kQwen3), 128.0, 1e-6);
  MoeConfig half = kQwen3;
  half.local_experts = 64;  // expert parallelism: half the experts here, half the touched ones
  EXPECT_NEAR(expected_touched_experts(8, half), 25.8, 0.1);
  // Rounded up to whole experts, one token touches top_k, where the formula's rounding lands just above it too.
  for (int experts : {72, 128, 160, 384}) {
    const MoeConfig c{experts, 7168, 2048, 8, {}, QuantMode::kW4A16, 0, -1, 64};
    EXPECT_EQ(whole_touched_experts(expected_touched_experts(1, c)), 8) << experts << " experts";
  }
  EXPECT_EQ(whole_touched_experts(51.6), 52);
  // GEMM 1 at T=8: 52 experts x 24 row blocks in waves of 1056, or x 12 in waves of 660.
  EXPECT_EQ(for_waves(kSmallBatchTile, 52 * 24, 1056, 52 * 12, 660), kSmallBatchTileTwoMTiles) << "2 waves -> 1";
  // GEMM 2: 52 x 32 in waves of 1056 or 52 x 16 in waves of 660: two either way.
  EXPECT_EQ(for_waves(kSmallBatchTile, 52 * 32, 1056, 52 * 16, 660), kSmallBatchTile);
  EXPECT_EQ(for_waves(kSmallBatchTile, 1056, 1056, 1, 660), kSmallBatchTile) << "one wave already";
  EXPECT_EQ(for_waves(kDecodeTile, 52 * 24, 1056, 52 * 12, 660), kDecodeTile) << "only the small-batch tile";
  EXPECT_EQ(for_waves(kSmallBatchTile, 5000, 0, 10, 660), kSmallBatchTile) << "an unknown wave keeps the table";
}


// A GEMM's packed weight rows for a layer's shape, as the layer passes them to choose_kernels.
int64_t packed_rows(const MoeConfig& c, WeightRole role) {
  return packed_weight_shape(role, c.hidden, c.intermediate).rows;
}

ForwardKernels choose_for(const MoeConfig& c, int tokens, const RuleSwitches& rules = {}) {
  return choose_kernels(tokens, c, true, std::nullopt, packed_rows(c, WeightRole::kGateUp),
                        packed_rows(c, WeightRole::kDown), hopper_waves(), false, rules);
}

TEST(Dispatch, KernelsOfTheBenchmarkShapesOnTheH200) {
  const auto expect = [](const ForwardKernels& k, const char* gemm1, const char* gemm2, bool decode) {
    EXPECT_EQ(gemm_name(k.gemm1), gemm1);
    EXPECT_EQ(gemm_name(k.gemm2), gemm2);
    EXPECT_EQ(k.decode_kernels, decode);
  };
  // One token: gpt-oss's GEMM 2 fits one wave of four slices and keeps 12 K steps a slice (its GEMM 1 needs a
  // second wave); qwen3's GEMM 2 fits but keeps 3, so its GEMM 1 stays on two too; deepseek-v3's GEMM 2 needs a
  // second wave.
  expect(choose_for(kQwen3, 1), "mma8-r64-w4-s8-d4-k2", "mma8-r64-w4-s8-d4-k2", true);
  expect(choose_for(kGptOss, 1), "mma8-r64-w4-s8-d4-k2", "mma8-r64-w4-s8-d4-k4", true);
  expect(choose_for(kDsv4, 1), "mma8-r64-w4-s8-d4-k2", "mma8-r64-w4-s8-d4-k2", true);
  expect(choose_for(kDsv3, 1), "mma8-r64-w4-s8-d4-k2", "mma8-r64-w4-s8-d4-k2", false);
  expect(choose_for(kQwen3, 2), "mma8-r64-w4-s8-d4-k2", "mma8-r64-w4-s8-d4-k2", true);
  // W4A4 runs the same tiles.
  MoeConfig dsv4_w4a4 = kDsv4;
  dsv4_w4a4.mode = QuantMode::kW4A4;
  expect(choose_for(dsv4_w4a4, 1), "mma8-r64-w4-s8-d4-k2", "mma8-r64-w4-s8-d4-k2", true);
  // Eight tokens: qwen3's GEMM 1 fits one wave of 128-row blocks (two of 64-row ones); its GEMM 2
  // needs two either way; dsv4-flash needs three either way.
  expect(choose_for(kQwen3, 8), "mma8-r128-w4-s8-d4", "mma8-r64-w4-s8-d4", false);
  expect(choose_for(kDsv4, 8), "mma8-r64-w4-s8-d4", "mma8-r64-w4-s8-d4", false);
  // From 5 rows per expert on, the table alone: 12-32 rows at 512 tokens.
  expect(choose_for(kQwen3, 512), "wgmma48-r256-w8-s7-c2", "wgmma48-r256-w8-s7-c2", false);
  expect(choose_for(kGptOss, 512), "wgmma32-r256-w8-s8-c2", "wgmma32-r256-w8-s8-c2", false);
  expect(choose_for(kDsv4, 512), "wgmma32-r256-w8-s8-c2", "wgmma32-r256-w8-s8-c2", false);
  // Shapes of bench/results/h200-four-slice-line/: GEMMs that both fit one wave of four slices and keep 8 and 4 K
  // steps a slice, at one and two tokens; and at two tokens a GEMM 1 that needs a second wave beside a GEMM 2 that
  // fits.
  const MoeConfig short_down{64, 2048, 1024, 4, {}, QuantMode::kW4A16, 0, -1, 16};
  expect(choose_for(short_down, 1), "mma8-r64-w4-s8-d4-k4", "mma8-r64-w4-s8-d4-k4", true);
  expect(choose_for(short_down, 2), "mma8-r64-w4-s8-d4-k4", "mma8-r64-w4-s8-d4-k4", true);
  const MoeConfig wide_up{64, 2048, 3072, 2, {}, QuantMode::kW4A16, 0, -1, 16};
  expect(choose_for(wide_up, 1), "mma8-r64-w4-s8-d4-k4", "mma8-r64-w4-s8-d4-k4", true);
  expect(choose_for(wide_up, 2), "mma8-r64-w4-s8-d4-k2", "mma8-r64-w4-s8-d4-k4", true);
  // Every refinement keeps the token block, so one routing plan serves both GEMMs.
  for (const MoeConfig& c : {kQwen3, kGptOss, kDsv4, kDsv3})
    for (int t = 1; t <= 4096; t *= 2) {
      const ForwardKernels k = choose_for(c, t);
      EXPECT_EQ(k.gemm1.block_tokens, k.gemm2.block_tokens) << t;
    }
}

// Large tiles: on Hopper, above any table tile of at most 64 tokens, once a batch has enough
// tokens to fill one (twice that above the mma.sync tiles) and both GEMMs have enough row blocks;
// never in the decode kernels, off Hopper, with a forced tile or when turned off.
TEST(Dispatch, LargeTilesForExpertsWithManyRows) {
  const auto large = [](const ForwardKernels& k) { return k.large ? gemm_name(*k.large) : std::string("none"); };
  EXPECT_EQ(large(choose_for(kGptOss, 1)), "none") << "decode kernels";
  EXPECT_EQ(large(choose_for(kGptOss, 16)), "none") << "fewer tokens than the 32-token tile";
  EXPECT_EQ(large(choose_for(kGptOss, 32)), "none") << "above mma8: from twice the 32-token block";
  EXPECT_EQ(large(choose_for(kGptOss, 63)), "none") << "above mma8: from twice the 32-token block";
  EXPECT_EQ(large(choose_for(kGptOss, 64)), "wgmma32-r256-w8-s8-c2") << "above mma8";
  EXPECT_EQ(large(choose_for(kGptOss, 224)), "wgmma32-r256-w8-s8-c2") << "above mma16";
  EXPECT_EQ(large(choose_for(kGptOss, 256)), "wgmma128-r256-w8-s8") << "above wgmma32 (8 rows, long K)";
  EXPECT_EQ(large(choose_for(kGptOss, 512)), "wgmma128-r256-w8-s8") << "above wgmma32";
  EXPECT_EQ(large(choose_for(kDsv3, 512)), "wgmma128-r256-w8-s8") << "above wgmma32";
  EXPECT_EQ(large(choose_for(kGptOss, 4096)), "none") << "the table's tile is the 128-token one";
  for (int t : {32, 64, 128, 256, 512, 1024}) EXPECT_EQ(large(choose_for(kQwen3, t)), "none") << "6 row blocks, " << t;
  // 2560 rows in both GEMMs: ten 256-row blocks, the fewest that take large tiles (128 experts make 4.8 waves of them).
  const MoeConfig ten_blocks{128, 2560, 1280, 16, {}, QuantMode::kW4A16, 0, -1, 64};
  const MoeConfig nine_blocks{128, 2304, 1280, 16, {}, QuantMode::kW4A16, 0, -1, 64};
  EXPECT_EQ(gemm_name(choose_for(ten_blocks, 100).gemm1), "wgmma32-r256-w8-s8-c2");
  EXPECT_EQ(large(choose_for(ten_blocks, 100)), "none") << "wgmma32 chosen: 128 tokens needed";
  EXPECT_EQ(large(choose_for(ten_blocks, 128)), "wgmma128-r256-w8-s8");
  EXPECT_EQ(large(choose_for(nine_blocks, 128)), "none") << "GEMM 2 has nine row blocks";
  for (int t = 1; t <= 4096; t *= 2) {
    const ForwardKernels k = choose_for(kGptOss, t);
    if (k.large) {
      EXPECT_GT(k.large->block_tokens, k.gemm1.block_tokens) << t;
      EXPECT_GE(k.large->block_tokens, kMinLargeTileRows) << t;
      EXPECT_LE(k.large->block_tokens, t) << t;
    }
  }
  const int64_t up = packed_rows(kGptOss, WeightRole::kGateUp), down = packed_rows(kGptOss, WeightRole::kDown);
  EXPECT_FALSE(choose_kernels(512, kGptOss, false, std::nullopt, up, down, hopper_waves()).large) << "off Hopper";
  EXPECT_FALSE(choose_kernels(512, kGptOss, true, kSmallBatchTile, up, down, hopper_waves()).large) << "forced";
  EXPECT_FALSE(choose_kernels(512, kGptOss, true, std::nullopt, up, down, hopper_waves(), false, {.large_tiles = false})
                   .large)
      << "turned off";
}

// Large tiles only where the local experts' row blocks make kLargeTileMinTableWaves waves of a two-CTA tile
// (264 CTAs on the modeled H100): not on models with few experts, nor on a many-expert one whose experts are
// mostly elsewhere (expert parallelism); and without a device's SMs the grid is not checked.
TEST(Dispatch, LargeTilesBesideAGridOfSeveralWaves) {
  const MoeConfig c32{32, 4096, 2048, 4, {}, QuantMode::kW4A16, 0, -1, 64};
  const MoeConfig gpt_oss_20b{32, 2880, 2880, 4, {}, QuantMode::kW4A16, 0, -1, 64};
  const MoeConfig scout{16, 5120, 8192, 1, {}, QuantMode::kW4A16, 0, -1, 64};
  const MoeConfig qwen3_235b{128, 4096, 1536, 8, {}, QuantMode::kW4A16, 0, -1, 64};
  for (int t : {128, 224, 384}) {
    EXPECT_TRUE(choose_for(c32, t).gemm1.wgmma) << t;
    EXPECT_FALSE(choose_for(c32, t).large) << "32 x 16 blocks, 1.9 waves, T=" << t;
    EXPECT_FALSE(choose_for(gpt_oss_20b, t).large) << "32 x 11 blocks, 1.3 waves, T=" << t;
  }
  EXPECT_FALSE(choose_for(scout, 64).large) << "16 x 20 blocks, above mma.sync";
  EXPECT_FALSE(choose_for(scout, 256).large) << "16 x 20 blocks";
  EXPECT_TRUE(choose_for(qwen3_235b, 64).large) << "128 x 12 blocks, 5.8 waves";
  EXPECT_TRUE(choose_for(qwen3_235b, 256).large);
  EXPECT_TRUE(choose_for(kGptOss, 256).large) << "128 x 11 blocks, 5.3 waves";
  MoeConfig dsv3_ep = kDsv3;
  dsv3_ep.local_experts = 32;
  EXPECT_TRUE(choose_for(kDsv3, 512).large) << "256 x 16 blocks";
  EXPECT_FALSE(choose_for(dsv3_ep, 512).large) << "32 local experts x 16 blocks";
  // The line: 11 blocks in both GEMMs, 72 experts make 792 = 3 x 264 blocks, 71 fall short.
  const MoeConfig at_line{72, 2816, 1408, 2, {}, QuantMode::kW4A16, 0, -1, 64};
  MoeConfig below = at_line;
  below.num_experts = 71;
  EXPECT_TRUE(choose_for(at_line, 512).gemm1.wgmma);
  EXPECT_TRUE(choose_for(at_line, 512).large);
  EXPECT_FALSE(choose_for(below, 512).large);
  const int64_t up = packed_rows(c32, WeightRole::kGateUp), down = packed_rows(c32, WeightRole::kDown);
  EXPECT_TRUE(large_tile_for(choose_gemm(224, c32, true), 224, true, up, down, 32, DeviceWaves{}))
      << "no SMs known";
}

// GEMM 2 takes GEMM 1's tiles as they finish in W4A16's four-kernel chain, except with large tiles
// (GEMM 2 then runs beside its own large launch) and after GEMM 1's K-split tiles, which do not signal.
// After W4A4's h quantization an mma.sync GEMM 2 reads its tile and streams its first weights before
// its wait (kRowsAfterWait); the wgmma ones wait first.
TEST(Dispatch, TileHandoffAndLaunchOrders) {
  MoeConfig qwen3_w4a4 = kQwen3;
  qwen3_w4a4.mode = QuantMode::kW4A4;
  const ForwardKernels chain = choose_for(kQwen3, 8);
  EXPECT_TRUE(chain.tile_handoff);
  EXPECT_EQ(chain.gemm1_order(), GemmOrder::kAfter);
  EXPECT_EQ(chain.gemm2_order(), GemmOrder::kBeside);
  EXPECT_FALSE(choose_for(kQwen3, 1).tile_handoff) << "decode kernels";
  EXPECT_FALSE(choose_for(qwen3_w4a4, 8).tile_handoff) << "W4A4 quantizes all of h between the GEMMs";
  EXPECT_FALSE(choose_for(kDsv3, 1).tile_handoff) << "GEMM 1's K-split tile does not signal";
  const ForwardKernels off = choose_for(kQwen3, 8, {.tile_handoff = false});
  EXPECT_FALSE(off.tile_handoff) << "FP4MOE_TILE_HANDOFF=0";
  EXPECT_EQ(off.gemm2_order(), GemmOrder::kAfter);
  const ForwardKernels large = choose_for(kGptOss, 512);
  ASSERT_TRUE(large.large.has_value());
  EXPECT_FALSE(large.tile_handoff) << "large tiles";
  EXPECT_EQ(large.gemm1_order(), GemmOrder::kBeside);
  EXPECT_EQ(large.gemm2_order(), GemmOrder::kBeside);
  const ForwardKernels w4a4 = choose_for(qwen3_w4a4, 8);
  EXPECT_EQ(w4a4.gemm1_order(), GemmOrder::kAfter);
  EXPECT_EQ(w4a4.gemm2_order(), GemmOrder::kRowsAfterWait) << "an mma.sync GEMM 2 after h's quantization";
  EXPECT_EQ(choose_for(qwen3_w4a4, 512).gemm2_order(), GemmOrder::kAfter) << "the persistent wgmma GEMM 2";
  EXPECT_EQ(choose_for(qwen3_w4a4, 1).gemm2_order(), GemmOrder::kAfter) << "the decode kernels order themselves";
}

// GEMM 1 finds its own tiles on Hopper where it runs an 8-token mma.sync tile without a K split and
// no large tiles, and its expected CTAs fill at most kOwnTileMaxWaves waves: qwen3 at 4 and 8 tokens
// (0.7 and 0.95 waves), in both modes; not qwen3 at 16 (1.9 waves), 128 (the 16-token tile) or 1 (the
// decode kernels), not deepseek-v3 at 8 (2.8 waves) or 1 (the K-split tile), not gpt-oss at 64
// (large tiles), not off Hopper or with the rule off. A forced tile obeys the same rule.
TEST(Dispatch, GemmOneFindsItsOwnTiles) {
  MoeConfig qwen3_w4a4 = kQwen3;
  qwen3_w4a4.mode = QuantMode::kW4A4;
  EXPECT_TRUE(choose_for(kQwen3, 4).own_tiles);
  EXPECT_TRUE(choose_for(kQwen3, 8).own_tiles);
  EXPECT_FALSE(choose_for(kQwen3, 16).own_tiles) << "about two waves";
  EXPECT_FALSE(choose_for(kQwen3, 128).own_tiles) << "the 16-token tile";
  EXPECT_FALSE(choose_for(kDsv3, 8).own_tiles) << "about three waves";
  EXPECT_FALSE(choose_for(kDsv3, 1).own_tiles) << "the K-split tile";
  EXPECT_FALSE(choose_for(kQwen3, 1).own_tiles) << "decode kernels";
  ASSERT_TRUE(choose_for(kGptOss, 64).large.has_value());
  EXPECT_FALSE(choose_for(kGptOss, 64).own_tiles) << "large tiles";
  EXPECT_TRUE(choose_for(qwen3_w4a4, 4).own_tiles) << "W4A4: its rows after x's quantization";
  EXPECT_TRUE(choose_for(qwen3_w4a4, 8).own_tiles) << "W4A4: its rows after x's quantization";
  EXPECT_FALSE(choose_for(qwen3_w4a4, 16).own_tiles) << "W4A4, about two waves";
  const int64_t up = packed_rows(kQwen3, WeightRole::kGateUp), down = packed_rows(kQwen3, WeightRole::kDown);
  EXPECT_FALSE(choose_kernels(8, kQwen3, false, std::nullopt, up, down, hopper_waves()).own_tiles) << "off Hopper";
  EXPECT_FALSE(choose_kernels(8, kQwen3, true, std::nullopt, up, down, hopper_waves(), false, {.own_tiles = false})
                   .own_tiles)
      << "turned off";
  EXPECT_TRUE(choose_kernels(8, kQwen3, true, kSmallBatchTile, up, down, hopper_waves()).own_tiles) << "forced";
  EXPECT_FALSE(choose_kernels(64, kQwen3, true, kSmallBatchTile, up, down, hopper_waves()).own_tiles)
      << "forced, waves";
  EXPECT_FALSE(choose_kernels(8, kQwen3, true, std::nullopt, up, down, DeviceWaves{}).own_tiles) << "waves unknown";
  // The rule's edges: pairs, waves.
  EXPECT_TRUE(gemm1_finds_own_tiles(true, kSmallBatchTile, false, kOwnTileMaxPairs, 150, 100));
  EXPECT_FALSE(gemm1_finds_own_tiles(true, kSmallBatchTile, false, kOwnTileMaxPairs + 1, 1, 100));
  EXPECT_FALSE(gemm1_finds_own_tiles(true, kSmallBatchTile, false, 64, 151, 100));
}

// The K-split decode tile only where GEMM 2 expects at most kSplitTileMaxWaves waves of it:
// gpt-oss at 1-4 tokens and deepseek-v4-flash at 1-2 keep it, deepseek-v4-flash at 3-4 and
// deepseek-v3 at 2-4 take the unsplit small-batch tile (and with it, in W4A16, the tile hand-off);
// deepseek-v3 at 1 keeps it (1.7 waves). W4A4 likewise; not for a forced tile, not with the rule off.
TEST(Dispatch, SplitTileWhereGemmTwoHasFewWaves) {
  const auto split = [](const ForwardKernels& k) { return k.gemm1.split_k > 1 || k.gemm2.split_k > 1; };
  for (int tokens : {1, 2, 3, 4}) EXPECT_TRUE(split(choose_for(kGptOss, tokens))) << "gpt-oss T=" << tokens;
  for (int tokens : {1, 2}) EXPECT_TRUE(split(choose_for(kDsv4, tokens))) << "dsv4 T=" << tokens;
  EXPECT_TRUE(split(choose_for(kDsv3, 1)));
  for (int tokens : {3, 4}) {
    const ForwardKernels k = choose_for(kDsv4, tokens);
    EXPECT_FALSE(split(k)) << "dsv4 T=" << tokens;
    EXPECT_TRUE(k.tile_handoff) << "dsv4 T=" << tokens;
  }
  for (int tokens : {2, 3, 4}) EXPECT_FALSE(split(choose_for(kDsv3, tokens))) << "dsv3 T=" << tokens;
  EXPECT_EQ(choose_for(kDsv4, 3).gemm1, kSmallBatchTileTwoMTiles) << "the wave rule's pick";
  EXPECT_EQ(choose_for(kDsv4, 4).gemm1, kSmallBatchTile);
  MoeConfig dsv3_w4a4 = kDsv3;
  dsv3_w4a4.mode = QuantMode::kW4A4;
  EXPECT_FALSE(split(choose_for(dsv3_w4a4, 4))) << "W4A4 likewise";
  const int64_t up = packed_rows(kDsv3, WeightRole::kGateUp), down = packed_rows(kDsv3, WeightRole::kDown);
  EXPECT_TRUE(
      split(choose_kernels(4, kDsv3, true, std::nullopt, up, down, hopper_waves(), false, {.split_waves = false})))
      << "turned off";
  EXPECT_TRUE(split(choose_kernels(4, kDsv3, true, kDecodeTile, up, down, hopper_waves()))) << "forced";
  const int k = kSplitTileLongK - 16, long_k = kSplitTileLongK;
  EXPECT_EQ(for_gemm2_waves(kDecodeTile, 924, 528, k), kDecodeTile) << "1.75 waves keep it";
  EXPECT_EQ(for_gemm2_waves(kDecodeTile, 925, 528, k), kSmallBatchTile);
  EXPECT_EQ(for_gemm2_waves(kDecodeTile, 1056, 528, long_k), kDecodeTile) << "two waves keep it where K is long";
  EXPECT_EQ(for_gemm2_waves(kDecodeTile, 1057, 528, long_k), kSmallBatchTile);
  EXPECT_EQ(for_gemm2_waves(kDecodeTile, 5000, 0, k), kDecodeTile) << "unknown wave";
  EXPECT_EQ(for_gemm2_waves(kSmallBatchTile, 5000, 528, k), kSmallBatchTile) << "only the K-split tile";
}

// A K-split GEMM at three CTAs an SM where its grid is past one wave of four even with one expert fewer touched, and
// within two waves of three: the rows of bench/results/h100-decode-smem/ that gained (gpt-oss T=2 GEMM 1 and T=4
// GEMM 2, deepseek-v4-flash T=2 both, qwen3-235b T=2 GEMM 1, llama4-scout T=12 GEMM 2) and none of those that lost
// (qwen3 T=1-2, qwen3 T=3 GEMM 1, llama4-scout T=3, kimi-k2 T=1, deepseek-v3 T=1, gpt-oss T=5, mixtral T=3-4); not
// for a forced tile, not with the rule off; and the rule's bounds for each tile it holds.
TEST(Dispatch, FewerCtasPerSmPastOneWave) {
  const auto caps = [](const ForwardKernels& k) { return std::pair{k.gemm1_ctas_per_sm, k.gemm2_ctas_per_sm}; };
  const auto config = [](int experts, int hidden, int intermediate, int top_k) {
    return MoeConfig{experts, hidden, intermediate, top_k, {}, QuantMode::kW4A16, 0, -1, 64};
  };
  EXPECT_EQ(caps(choose_for(kGptOss, 2)), std::pair(3, 0)) << "gpt-oss T=2: GEMM 1 630-720 CTAs, GEMM 2 360";
  EXPECT_EQ(caps(choose_for(kGptOss, 4)), std::pair(0, 3)) << "gpt-oss T=4: GEMM 1 1440 CTAs, GEMM 2 675-720";
  EXPECT_EQ(caps(choose_for(kDsv4, 2)), std::pair(3, 3)) << "deepseek-v4-flash T=2: 704-768 CTAs each";
  EXPECT_EQ(caps(choose_for(kQwen3, 3)), std::pair(0, 3)) << "qwen3 T=3: GEMM 1 528-552 CTAs, GEMM 2 704-736";
  EXPECT_EQ(caps(choose_for(config(128, 4096, 1536, 8), 2)), std::pair(3, 0)) << "qwen3-235b T=2";
  EXPECT_EQ(caps(choose_for(config(16, 5120, 8192, 1), 12)), std::pair(0, 3)) << "llama4-scout T=12";
  for (int tokens : {1, 2})
    EXPECT_EQ(caps(choose_for(kQwen3, tokens)), std::pair(0, 0)) << "qwen3 within one wave, T=" << tokens;
  EXPECT_EQ(caps(choose_for(kDsv3, 1)), std::pair(0, 0)) << "deepseek-v3 T=1: 512 and 896 CTAs";
  EXPECT_EQ(caps(choose_for(kGptOss, 5)), std::pair(0, 0)) << "gpt-oss T=5: GEMM 1 1710 CTAs";
  EXPECT_EQ(caps(choose_for(config(16, 5120, 8192, 1), 3)), std::pair(0, 0)) << "llama4-scout T=3: 512-768 CTAs";
  EXPECT_EQ(caps(choose_for(config(384, 7168, 2048, 8), 1)), std::pair(0, 0)) << "kimi-k2 T=1";
  for (int tokens : {2, 3, 4})
    EXPECT_EQ(caps(choose_for(config(8, 4096, 14336, 2), tokens)), std::pair(0, 0)) << "mixtral T=" << tokens;
  const int64_t up = packed_rows(kDsv4, WeightRole::kGateUp), down = packed_rows(kDsv4, WeightRole::kDown);
  EXPECT_EQ(caps(choose_kernels(2, kDsv4, true, std::nullopt, up, down, hopper_waves(), false, {.fewer_ctas = false})),
            std::pair(0, 0))
      << "turned off";
  EXPECT_EQ(caps(choose_kernels(2, kDsv4, true, kDecodeTile, up, down, hopper_waves())), std::pair(0, 0)) << "forced";
  const auto rule = [](const MmaTileConfig& tile, int64_t ctas, int64_t row_blocks, int64_t one_wave,
                       int64_t k = kFewerCtasMinK, bool gemms_overlap = false, bool gate_up = true) {
    return ctas_per_sm_for_waves(tile, ctas, row_blocks, one_wave, 132, k, gemms_overlap, gate_up);
  };
  EXPECT_EQ(rule(kDecodeTile, 588, 49, 528), 3) << "539 CTAs with one expert fewer: past";
  EXPECT_EQ(rule(kDecodeTile, 576, 48, 528), 0) << "528 with one fewer: one wave";
  EXPECT_EQ(rule(kDecodeTile, 792, 66, 528), 3) << "792 CTAs: two waves of three";
  EXPECT_EQ(rule(kDecodeTile, 804, 67, 528), 0) << "804: past two waves of three";
  EXPECT_EQ(rule(kDecodeTile, 720, 60, 0), 0) << "unknown wave";
  EXPECT_EQ(rule(kDecodeTile, 720, 60, 528, 768, true), 3) << "the K-split tile whatever its K and overlap";
  EXPECT_EQ(rule(kDecodeTileOneWave, 720, 60, 264), 0) << "not the four-slice tile";
  EXPECT_EQ(rule(kSmallBatchTile, 1200, 100, 1056), 7) << "the unsplit tile past one wave of eight";
  EXPECT_EQ(rule(kSmallBatchTile, 1200, 100, 1056, kFewerCtasMinK - 1), 0) << "its K short";
  EXPECT_EQ(rule(kSmallBatchTile, 1200, 100, 1056, kFewerCtasMinK, true), 0) << "the GEMMs overlapping, K 2048";
  EXPECT_EQ(rule(kSmallBatchTile, 1200, 100, 1056, 4096, true), 0) << "the GEMMs overlapping, K 4096";
  EXPECT_EQ(rule(kSmallBatchTile, 1200, 100, 1056, 4351, true), 0) << "the GEMMs overlapping, K 4351";
  EXPECT_EQ(rule(kSmallBatchTile, 1200, 100, 1056, 4352, true), 7) << "overlapping, GEMM 1 on K of 4352";
  EXPECT_EQ(rule(kSmallBatchTileTwoMTiles, 768, 32, 660, 4352, true), 4) << "overlapping, the two-m-tile tile";
  EXPECT_EQ(rule(kSmallBatchTileTwoMTiles, 768, 32, 660, 4351, true), 0) << "overlapping, the two-m-tile tile, K 4351";
  EXPECT_EQ(rule(kSmallBatchTileTwoMTiles, 990, 32, 660, 7168, true), 4) << "overlapping, two-m-tile, 1.5 waves";
  EXPECT_EQ(rule(kSmallBatchTileTwoMTiles, 991, 32, 660, 7168, true), 0) << "overlapping, two-m-tile, past 1.5";
  EXPECT_EQ(rule(kSmallBatchTileTwoMTiles, 768, 32, 660, 7168, true, false), 0) << "overlapping, its GEMM 2";
  EXPECT_EQ(rule(kSmallBatchTile, 1200, 100, 1056, 7168, true, false), 0) << "overlapping, GEMM 2";
  EXPECT_EQ(rule(kSmallBatchTile, 1584, 64, 1056, 7168, true), 7) << "overlapping, 1.5 waves";
  EXPECT_EQ(rule(kSmallBatchTile, 1585, 64, 1056, 7168, true), 0) << "overlapping, past 1.5 waves";
  EXPECT_EQ(rule(kSmallBatchTile, 1848, 64, 1056), 7) << "two waves of seven";
  EXPECT_EQ(rule(kSmallBatchTile, 1849, 64, 1056), 0) << "past two waves of seven";
  EXPECT_EQ(rule(kSmallBatchTileTwoMTiles, 1000, 32, 660), 4) << "the two-m-tile tile past one wave of five";
  EXPECT_EQ(rule(kSmallBatchTileTwoMTiles, 620, 12, 660), 0) << "within one wave (qwen3 T=8's GEMM 1)";
}

// The unsplit 8-token tiles held to one CTA fewer an SM (the same rule) where the GEMMs do not overlap and the GEMM's
// K is at least kFewerCtasMinK: the dynamic W4A4 rows of bench/results/h100-fewer-ctas-small/landing/ (deepseek-v3
// T=2-3, deepseek-v4-flash T=4, gpt-oss T=8-10, qwen3 T=10-14's GEMM 1), and none where GEMM 2 runs beside GEMM 1
// (W4A16 and calibrated W4A4, whose rows were mixed), where K is 768 (qwen3's GEMM 2), or where the grid is within one
// wave or past two waves of the fewer.
TEST(Dispatch, FewerCtasPerSmForUnsplitTilesWhereTheGemmsDoNotOverlap) {
  const auto caps = [](const ForwardKernels& k) { return std::pair{k.gemm1_ctas_per_sm, k.gemm2_ctas_per_sm}; };
  const auto dynamic = [](MoeConfig c) {
    c.mode = QuantMode::kW4A4;
    return c;
  };
  const auto calibrated = [&](const MoeConfig& c, int tokens) {
    return choose_kernels(tokens, dynamic(c), true, std::nullopt, packed_rows(c, WeightRole::kGateUp),
                          packed_rows(c, WeightRole::kDown), hopper_waves(), true);
  };
  EXPECT_EQ(caps(choose_for(dynamic(kDsv3), 3)), std::pair(7, 0)) << "deepseek-v3 T=3: GEMM 1 1536 CTAs";
  EXPECT_EQ(caps(choose_for(dynamic(kDsv3), 2)), std::pair(0, 7)) << "deepseek-v3 T=2: GEMM 2 1792 CTAs";
  EXPECT_EQ(caps(choose_for(dynamic(kDsv4), 4)), std::pair(7, 7)) << "deepseek-v4-flash T=4: 1536 CTAs each";
  EXPECT_EQ(caps(choose_for(dynamic(kGptOss), 8)), std::pair(0, 7)) << "gpt-oss T=8: GEMM 1 1305 CTAs of five an SM";
  EXPECT_EQ(caps(choose_for(dynamic(kGptOss), 10)), std::pair(0, 7));
  for (int tokens : {10, 12, 14}) EXPECT_EQ(caps(choose_for(dynamic(kQwen3), tokens)), std::pair(7, 0)) << tokens;
  for (const auto& [c, tokens] : {std::pair{kDsv4, 4}, {kGptOss, 10}, {kQwen3, 10}}) {
    EXPECT_EQ(caps(choose_for(c, tokens)), std::pair(0, 0)) << c.hidden << " T=" << tokens << ": W4A16's hand-off";
    EXPECT_EQ(caps(calibrated(c, tokens)), std::pair(0, 0)) << c.hidden << " T=" << tokens << ": calibrated's";
  }
  // Beside the hand-off, GEMM 1 of the unsplit tiles on K of at least 4352 within 1.5 waves: deepseek-v3 T=3 (1536
  // CTAs of 1056), kimi-k2 T=3; the rows of bench/results/h100-handoff-gemm1-lead/call3/ and call4/ below.
  const MoeConfig kimi_k2{384, 7168, 2048, 8, {}, QuantMode::kW4A16, 0, -1, 64};
  for (const MoeConfig& c : {kDsv3, kimi_k2}) {
    EXPECT_EQ(caps(choose_for(c, 3)), std::pair(7, 0)) << c.num_experts << " experts T=3: W4A16's hand-off";
    EXPECT_EQ(caps(calibrated(c, 3)), std::pair(7, 0)) << c.num_experts << " experts T=3: calibrated's";
  }
  struct BesideRow {
    MoeConfig c;
    int tokens;
    bool calibrated;
    std::pair<int, int> caps;
    const char* what;
  };
  const auto shape = [](int experts, int hidden, int intermediate, int top_k) {
    return MoeConfig{experts, hidden, intermediate, top_k, {}, QuantMode::kW4A16, 0, -1, 64};
  };
  for (const BesideRow& r : {BesideRow{shape(160, 5120, 1536, 6), 6, false, {7, 0}, "1584 CTAs, 1.5 waves"},
                             BesideRow{shape(160, 5120, 1536, 6), 7, false, {0, 0}, "1824 CTAs"},
                             BesideRow{shape(48, 4608, 1024, 6), 16, false, {7, 0}, "the one-m-tile tile, K 4608"},
                             BesideRow{shape(48, 4608, 1024, 6), 16, true, {7, 0}, "the one-m-tile tile, K 4608"},
                             BesideRow{shape(24, 4608, 2048, 8), 16, false, {4, 0}, "the two-m-tile tile, 768 CTAs"},
                             BesideRow{shape(48, 4608, 1024, 6), 48, false, {4, 0}, "the two-m-tile tile"},
                             BesideRow{shape(24, 4352, 2048, 8), 5, false, {7, 0}, "the one-m-tile tile, K 4352"},
                             BesideRow{shape(48, 4352, 1024, 6), 32, true, {7, 0}, "the one-m-tile tile, K 4352"},
                             BesideRow{shape(24, 4352, 2048, 8), 16, false, {4, 0}, "the two-m-tile tile, K 4352"},
                             BesideRow{shape(256, 4352, 2048, 6), 4, false, {7, 0}, "deepseek-v4-flash's row at 4352"},
                             BesideRow{kDsv4, 4, false, {0, 0}, "deepseek-v4-flash itself: K 4096"}})
    EXPECT_EQ(caps(r.calibrated ? calibrated(r.c, r.tokens) : choose_for(r.c, r.tokens)), r.caps)
        << r.c.num_experts << "/" << r.c.hidden << "/" << r.c.intermediate << "/" << r.c.top_k << " T=" << r.tokens
        << (r.calibrated ? " calibrated" : "") << ": " << r.what;
  for (int tokens : {6, 8})
    EXPECT_EQ(caps(choose_for(dynamic(kQwen3), tokens)), std::pair(0, 0)) << "qwen3's GEMM 2, K 768, T=" << tokens;
  EXPECT_EQ(caps(choose_for(dynamic(kDsv3), 4)), std::pair(0, 0)) << "deepseek-v3 T=4: 1984 CTAs, past two of seven";
  EXPECT_EQ(caps(choose_for(dynamic(kDsv4), 3)), std::pair(0, 0)) << "deepseek-v4-flash T=3: within one wave";
  EXPECT_EQ(caps(choose_for(dynamic(kGptOss), 6)), std::pair(0, 0)) << "gpt-oss T=6: 2070 CTAs";
}

// The padding that holds a kernel to `ctas` CTAs an SM (common/launch.h), with an H100's figures (228 KB an SM, 1 KB
// reserved a CTA, 227 KB at most a CTA): ctas CTAs fit and one more does not; the kernel's own need where that is more;
// the kernel's need where its static share alone keeps a CTA more out (it used to wrap round to the most a CTA may
// have, one CTA an SM); never past the most a CTA may have.
TEST(Dispatch, PaddedSharedMemoryHoldsTheCap) {
  constexpr int64_t per_sm = 233472, reserved = 1024, per_cta = 232448;
  const auto footprint = [&](int64_t dynamic, int64_t static_bytes) {  // a CTA's share, in 128-byte units
    return (dynamic + static_bytes + reserved + 127) / 128 * 128;
  };
  for (int ctas = 1; ctas <= 8; ++ctas) {
    for (int64_t static_bytes : {0, 512, 4096}) {
      const int64_t bytes = int64_t(padded_smem_bytes(per_sm, reserved, static_bytes, per_cta, 18432, ctas));
      const int64_t share = footprint(bytes, static_bytes);
      EXPECT_LE(ctas * share, per_sm) << ctas << " CTAs, " << static_bytes << " static bytes";
      EXPECT_GT((ctas + 1) * share, per_sm) << ctas << " CTAs, " << static_bytes << " static bytes";
    }
  }
  EXPECT_EQ(padded_smem_bytes(per_sm, reserved, 0, per_cta, 100000, 3), 100000u) << "the kernel needs more already";
  EXPECT_EQ(padded_smem_bytes(per_sm, reserved, 40000, per_cta, 1024, 7), 1024u) << "its static share keeps an 8th out";
  EXPECT_EQ(padded_smem_bytes(per_sm, reserved, 1000, 50000, 1024, 1), size_t(50000 - 1000)) << "at most per CTA";
}

// The K-split tile up to 5 rows per expert where GEMM 2 has few waves of it: the public models of
// bench/results/h200-model-audit/ (experts/hidden/intermediate/top-k) at the batches measured there; split on every
// row where it won, unsplit (with the tile hand-off) where it lost; then large tiles never beside it.
TEST(Dispatch, SplitTileWhereFewExpertsHoldSeveralRows) {
  const auto config = [](int experts, int hidden, int intermediate, int top_k) {
    return MoeConfig{experts, hidden, intermediate, top_k, {}, QuantMode::kW4A16, 0, -1, 64};
  };
  const MoeConfig mixtral = config(8, 4096, 14336, 2), scout = config(16, 5120, 8192, 1);
  const MoeConfig gpt_oss_20b = config(32, 2880, 2880, 4), v2_lite = config(64, 2048, 1408, 6);
  const MoeConfig glm_air = config(128, 4096, 1408, 8);
  const auto split = [](const ForwardKernels& k) { return k.gemm1.split_k > 1 && k.gemm2.split_k > 1; };
  for (int t : {1, 2, 4, 8, 16}) EXPECT_TRUE(split(choose_for(mixtral, t))) << "mixtral T=" << t;
  EXPECT_EQ(choose_for(mixtral, 1).gemm2, kDecodeTileOneWave) << "for_grid still refines it";
  {  // GEMM 2's expected 384 CTAs past one wave of four slices (1.45 waves), each 56 K steps
    const ForwardKernels k = choose_for(mixtral, 4);
    EXPECT_EQ(k.gemm1, kDecodeTile);
    EXPECT_EQ(k.gemm2, kDecodeTileOneWave);
    EXPECT_FALSE(k.decode_kernels) << "GEMM 2 beyond one wave runs the general chain";
  }
  EXPECT_EQ(choose_for(mixtral, 8).gemm2, kDecodeTile) << "1.94 waves";
  EXPECT_EQ(choose_for(scout, 8).gemm2, kDecodeTile) << "2.12 waves";
  EXPECT_EQ(choose_for(gpt_oss_20b, 3).gemm2, kDecodeTile) << "12-step slices past one wave";
  for (int t : {3, 4, 8, 16, 24}) EXPECT_TRUE(split(choose_for(scout, t))) << "scout T=" << t;
  for (int t : {2, 3, 4, 6}) EXPECT_TRUE(split(choose_for(gpt_oss_20b, t))) << "gpt-oss-20b T=" << t;
  for (int t : {2, 3, 4}) EXPECT_TRUE(split(choose_for(v2_lite, t))) << "deepseek-v2-lite T=" << t;
  EXPECT_TRUE(split(choose_for(kQwen3, 3)));
  EXPECT_TRUE(split(choose_for(kGptOss, 5)));
  EXPECT_TRUE(split(choose_for(glm_air, 2))) << "1.94 waves, GEMM 1's K 4096";
  for (const auto& [c, t] : {std::pair{gpt_oss_20b, 8}, {v2_lite, 6}, {kQwen3, 4}}) {
    const ForwardKernels k = choose_for(c, t);
    EXPECT_EQ(k.gemm1.split_k + k.gemm2.split_k, 2) << c.hidden << " T=" << t;
    EXPECT_TRUE(k.tile_handoff) << c.hidden << " T=" << t;
  }
  EXPECT_FALSE(large_tile_for(kDecodeTile, 64, true, 1 << 20, 1 << 20, 256, hopper_waves()))
      << "not beside the K-split tile";
  EXPECT_TRUE(large_tile_for(kSmallBatchTile, 64, true, 1 << 20, 1 << 20, 256, hopper_waves()));
}

// max_gemm_tiles (routing/plan.h) is the most tiles any routing makes, not just a bound: every
// split of 1-24 pairs over 1-5 experts into tiles of 1, 3 and 8 rows.
TEST(Dispatch, MaxGemmTilesIsTheMostAnyRoutingMakes) {
  for (int experts = 1; experts <= 5; ++experts) {
    for (int pairs = 1; pairs <= 24; ++pairs) {
      for (int rows : {1, 3, 8}) {
        int64_t most = 0;
        std::vector<int> counts(size_t(experts), 0);
        // Every count vector summing to `pairs`, in lexicographic order of its first experts-1 counts.
        const auto visit = [&](auto&& self, int e, int left) -> void {
          if (e == experts - 1) {
            counts[size_t(e)] = left;
            int64_t tiles = 0;
            for (int count : counts) tiles += ceil_div(count, rows);
            most = std::max(most, tiles);
            return;
          }
          for (int count = 0; count <= left; ++count) {
            counts[size_t(e)] = count;
            self(self, e + 1, left - count);
          }
        };
        visit(visit, 0, pairs);
        EXPECT_EQ(max_gemm_tiles(pairs, experts, rows), most) << pairs << " pairs, " << experts << " experts, " << rows;
      }
    }
  }
}

// An expert's tiles (routing/plan.h's expert_tiles and expert_tile, the rule every plan and GEMM 1's
// own tiles share): its full large tiles first, then tiles of at most tile_rows that cover the rest
// of its rows once each, in order, none empty.
TEST(Dispatch, ExpertTilesCoverTheRowsOnce) {
  for (int large_rows : {0, 32, 128}) {
    for (int tile_rows : {1, 8, 48, 128}) {
      for (int rows = 0; rows <= 300; ++rows) {
        const int large = expert_large_tiles(rows, large_rows);
        EXPECT_EQ(large, large_rows > 0 ? rows / large_rows : 0) << rows << " rows, large " << large_rows;
        const int first_row = 1000 + large * large_rows, rest = rows - large * large_rows;
        const int tiles = expert_tiles(rows, tile_rows, large_rows);
        int next_row = first_row;
        for (int t = 0; t < tiles; ++t) {
          const GemmTile tile = expert_tile(7, first_row, rest, tile_rows, t);
          EXPECT_EQ(tile.expert, 7);
          EXPECT_EQ(tile.row_begin, next_row) << rows << " rows, tile " << t;
          EXPECT_GE(tile.rows, 1) << rows << " rows, tile " << t;
          EXPECT_LE(tile.rows, tile_rows) << rows << " rows, tile " << t;
          next_row += tile.rows;
        }
        EXPECT_EQ(next_row, first_row + rest) << rows << " rows, tiles of " << tile_rows << ", large " << large_rows;
      }
    }
  }
}

// W4A4 with a calibrated h scale: GEMM 1's epilogue quantizes h at every batch, in every tile the
// table picks (the decode kernels' one-m-tile tiles at one token, the mma.sync tiles of one and two
// m-tiles per warp, the wgmma tiles and the large tiles beside them), and GEMM 2 then takes GEMM 1's
// tiles as they finish, as in W4A16; not with a dynamic scale, not in W4A16, not with the rule off.
TEST(Dispatch, GemmOneQuantizesCalibratedH) {
  MoeConfig qwen3_w4a4{128, 2048, 768, 8, {}, QuantMode::kW4A4, 0, -1, 20000};
  MoeConfig gpt_oss_w4a4{128, 2880, 2880, 4, {}, QuantMode::kW4A4, 0, -1, 20000};
  const auto choose = [](const MoeConfig& c, int tokens, bool calibrated, bool rule = true) {
    return choose_kernels(tokens, c, true, std::nullopt, packed_rows(c, WeightRole::kGateUp),
                          packed_rows(c, WeightRole::kDown), hopper_waves(), calibrated, {.epilogue_quantize = rule});
  };
  for (int tokens : {1, 8, 64, 512, 4096, 16384}) {
    const ForwardKernels k = choose(qwen3_w4a4, tokens, true);
    std::printf("  qwen3 T=%d: GEMM 1 %s\n", tokens, gemm_name(k.gemm1).c_str());
    EXPECT_TRUE(epilogue_quantizes_h(k.gemm1)) << tokens;
    EXPECT_TRUE(k.gemm1_quantizes_h) << tokens;
    EXPECT_EQ(k.tile_handoff, !k.decode_kernels && k.gemm1.split_k == 1) << tokens;
    EXPECT_FALSE(choose(qwen3_w4a4, tokens, false).gemm1_quantizes_h) << "dynamic scale, T=" << tokens;
    EXPECT_FALSE(choose(qwen3_w4a4, tokens, false).tile_handoff) << "dynamic scale, T=" << tokens;
    EXPECT_FALSE(choose(qwen3_w4a4, tokens, true, false).gemm1_quantizes_h) << "rule off, T=" << tokens;
  }
  // The three mma.sync forms: the decode kernels (one m-tile per warp, K in slices), the grouped
  // tiles of two m-tiles per warp and of one.
  const ForwardKernels one_token = choose(qwen3_w4a4, 1, true), eight = choose(qwen3_w4a4, 8, true),
                       sixty_four = choose(qwen3_w4a4, 64, true);
  EXPECT_TRUE(one_token.decode_kernels);
  EXPECT_EQ(one_token.gemm1.m_tiles, 1) << gemm_name(one_token.gemm1);
  EXPECT_GT(one_token.gemm1.split_k, 1) << gemm_name(one_token.gemm1);
  EXPECT_FALSE(eight.decode_kernels || eight.gemm1.wgmma) << gemm_name(eight.gemm1);
  EXPECT_EQ(eight.gemm1.m_tiles, 2) << gemm_name(eight.gemm1);
  EXPECT_FALSE(sixty_four.decode_kernels || sixty_four.gemm1.wgmma) << gemm_name(sixty_four.gemm1);
  EXPECT_EQ(sixty_four.gemm1.m_tiles, 1) << gemm_name(sixty_four.gemm1);
  EXPECT_TRUE(eight.tile_handoff && sixty_four.tile_handoff);
  EXPECT_TRUE(choose(qwen3_w4a4, 4096, true).tile_handoff);
  const ForwardKernels large = choose(gpt_oss_w4a4, 512, true);  // large tiles beside the table's
  ASSERT_TRUE(large.large.has_value());
  EXPECT_TRUE(large.gemm1_quantizes_h);
  EXPECT_FALSE(large.tile_handoff) << "large tiles";
  MoeConfig w4a16 = qwen3_w4a4;
  w4a16.mode = QuantMode::kW4A16;
  EXPECT_FALSE(choose(w4a16, 4096, true).gemm1_quantizes_h);
  // A tile of one m-tile per warp quantizes across its warp pairs; an odd warp count could not.
  EXPECT_FALSE(epilogue_quantizes_h(MmaTileConfig{3, 1, 8, 8, 4}));
  EXPECT_TRUE(epilogue_quantizes_h(MmaTileConfig{3, 2, 8, 8, 4}));
}

// GEMM 2's persistent kernel: the 128-token tile on every K, staging y where K is short (qwen3: 12
// steps) and storing it directly where it is long; the other wgmma tiles where K is short only;
// beyond the decode kernels, on Hopper, with the rule on.
TEST(Dispatch, PersistentGemm2ByTileAndK) {
  MoeConfig qwen3_w4a4 = kQwen3;
  qwen3_w4a4.mode = QuantMode::kW4A4;
  for (int t : {1024, 4096, 16384}) {
    EXPECT_EQ(choose_for(kQwen3, t).gemm2, kPersistentDownTile) << t;
    EXPECT_TRUE(choose_for(kQwen3, t).persistent_gemm2) << t;
    EXPECT_TRUE(choose_for(kQwen3, t).gemm2_stages_y) << t;
    EXPECT_TRUE(choose_for(qwen3_w4a4, t).persistent_gemm2) << t;
  }
  for (int t : {4096, 16384}) {
    EXPECT_EQ(choose_for(kDsv4, t).gemm2, kPersistentDownTile) << t;
    EXPECT_TRUE(choose_for(kDsv4, t).persistent_gemm2) << "K = 2048: " << t;
    EXPECT_FALSE(choose_for(kDsv4, t).gemm2_stages_y) << "K = 2048: " << t;
  }
  for (int t : {256, 512}) {  // the two-CTA tiles
    EXPECT_EQ(choose_for(kQwen3, t).gemm2, t == 256 ? kWgmma32TwoPerSm : kWgmma48TwoPerSm) << t;
    EXPECT_TRUE(choose_for(kQwen3, t).persistent_gemm2) << t;
    EXPECT_FALSE(choose_for(kQwen3, t).gemm2_stages_y) << t;
  }
  for (int t : {512, 1024}) {  // the two-CTA tiles, long K
    EXPECT_TRUE(choose_for(kDsv4, t).gemm2.ctas_per_sm == 2) << t;
    EXPECT_FALSE(choose_for(kDsv4, t).persistent_gemm2) << "K = 2048: " << t;
  }
  for (int t : {1, 8, 64, 128}) EXPECT_FALSE(choose_for(kQwen3, t).persistent_gemm2) << "an mma.sync tile: " << t;
  EXPECT_TRUE(choose_for(kQwen3, 768).persistent_gemm2) << "the 64-token tile";
  const int64_t up = packed_rows(kQwen3, WeightRole::kGateUp), down = packed_rows(kQwen3, WeightRole::kDown);
  EXPECT_TRUE(choose_kernels(64, kQwen3, true, kPersistentDownTile, up, down, hopper_waves()).persistent_gemm2)
      << "the tile forced";
  EXPECT_FALSE(choose_kernels(4096, kQwen3, false, std::nullopt, up, down, hopper_waves()).persistent_gemm2)
      << "off Hopper";
  EXPECT_FALSE(
      choose_kernels(4096, kQwen3, true, std::nullopt, up, down, hopper_waves(), false, {.persistent_down = false})
          .persistent_gemm2)
      << "turned off";
  EXPECT_TRUE(use_persistent_down(kWgmma64, 768, true)) << "the one-CTA 64-token tile, short K";
  EXPECT_FALSE(use_persistent_down(kWgmma64, 2048, true)) << "the one-CTA 64-token tile, long K";
  EXPECT_FALSE(stage_persistent_down(kWgmma64, 768)) << "only the 128-token tile stages y";
  EXPECT_FALSE(use_persistent_down({4, 2, 32, 4, 2}, 768, true)) << "an mma.sync tile";
  const int short_k = kPersistentDownMaxKSteps * kTileK, long_k = short_k + 1;
  EXPECT_TRUE(use_persistent_down(kPersistentDownTile, short_k, true));
  EXPECT_TRUE(stage_persistent_down(kPersistentDownTile, short_k));
  EXPECT_TRUE(use_persistent_down(kPersistentDownTile, long_k, true));
  EXPECT_FALSE(stage_persistent_down(kPersistentDownTile, long_k));
  EXPECT_TRUE(use_persistent_down(kWgmma48TwoPerSm, short_k, true));
  EXPECT_FALSE(use_persistent_down(kWgmma48TwoPerSm, long_k, true));
  EXPECT_FALSE(stage_persistent_down(kWgmma48TwoPerSm, short_k)) << "the two-CTA tiles store directly";
}

// GEMM 1 reads x's rows in sorted order where its tile is a wgmma one (Hopper, from 10 rows per
// expert), its weights have at least twelve row blocks and the batch at least 24 rows per expert:
// gpt-oss (23 row blocks), deepseek-v4-flash and deepseek-v3 (16) at 1024 to 16384 tokens, in both
// modes, with or without large tiles; not at 512 (12-16 rows per expert); never qwen3 (6); not on the
// mma.sync tiles, not in the decode kernels, not off Hopper, not with the rule off.
TEST(Dispatch, SortedRowsWhereGemmOneHasManyRowBlocksAndRowsPerExpert) {
  for (const MoeConfig& shape : {kGptOss, kDsv4, kDsv3}) {
    MoeConfig w4a4 = shape;
    w4a4.mode = QuantMode::kW4A4;
    for (int tokens : {1024, 4096, 16384}) {
      const ForwardKernels k = choose_for(shape, tokens);
      ASSERT_TRUE(k.gemm1.wgmma) << shape.num_experts << " T=" << tokens;
      EXPECT_TRUE(k.sorted_rows) << shape.hidden << " T=" << tokens;
      EXPECT_TRUE(choose_for(w4a4, tokens).sorted_rows) << shape.hidden << " W4A4 T=" << tokens;
    }
    ASSERT_TRUE(choose_for(shape, 512).gemm1.wgmma);
    EXPECT_FALSE(choose_for(shape, 512).sorted_rows) << shape.hidden << ": under 24 rows per expert";
    EXPECT_FALSE(choose_for(shape, 64).sorted_rows) << shape.hidden << ": an mma.sync tile";
    EXPECT_FALSE(choose_for(shape, 1).sorted_rows) << shape.hidden << ": decode kernels";
  }
  ASSERT_TRUE(choose_for(kGptOss, 1024).large.has_value());
  EXPECT_TRUE(choose_for(kGptOss, 1024).sorted_rows) << "with large tiles";
  for (int tokens : {512, 4096, 16384}) EXPECT_FALSE(choose_for(kQwen3, tokens).sorted_rows) << "qwen3 T=" << tokens;
  const int64_t up = packed_rows(kDsv4, WeightRole::kGateUp), down = packed_rows(kDsv4, WeightRole::kDown);
  EXPECT_FALSE(choose_kernels(4096, kDsv4, false, std::nullopt, up, down, hopper_waves()).sorted_rows) << "off Hopper";
  EXPECT_FALSE(choose_kernels(4096, kDsv4, true, std::nullopt, up, down, hopper_waves(), false, {.sorted_rows = false})
                   .sorted_rows)
      << "turned off";
  // The lines: twelve blocks of 256 rows, 24 rows per expert (deepseek-v4-flash: 1024 tokens, not 1023).
  EXPECT_FALSE(gemm1_has_many_row_blocks(11 * 256));
  EXPECT_TRUE(gemm1_has_many_row_blocks(11 * 256 + 1));
  EXPECT_TRUE(gemm1_reads_sorted_rows(kWgmma32TwoPerSm, false, 12 * 256, 24 * 8, 8));
  EXPECT_FALSE(gemm1_reads_sorted_rows(kWgmma32TwoPerSm, false, 12 * 256, 24 * 8 - 1, 8));
  EXPECT_FALSE(gemm1_reads_sorted_rows(kWgmma32TwoPerSm, false, 11 * 256, 24 * 8, 8));
  EXPECT_FALSE(gemm1_reads_sorted_rows(kWgmma32TwoPerSm, true, 12 * 256, 24 * 8, 8));
  EXPECT_FALSE(gemm1_reads_sorted_rows(kSmallBatchTile, false, 12 * 256, 24 * 8, 8));
  EXPECT_TRUE(choose_for(kDsv4, 1024).sorted_rows);
  EXPECT_FALSE(choose_for(kDsv4, 1023).sorted_rows);
}

// y kept in L2 (y_stays_in_l2) on a 50 MiB L2: where y and h fit in it and y is at least 3.5% of the touched
// weights' bytes or at least 5 MB, or where y and h are within 2.5 times the L2 and y is at least 10% of the weights.
// Of the benchmark shapes: qwen3 at 96-1536 tokens (y 6.3 MB at 96, 3.7% of the weights at 192, y and h 95% of the
// L2 at 640, 2.3 times it and y 30% of the weights at 1536), gpt-oss at 128-640 (y 5.9 MB at 128, 23.6 at 512),
// deepseek-v4-flash at 64-384 and deepseek-v3 at 32-192; not qwen3 at 64 (4.2 MB, 1.3%) or 2048 (y and h past 2.5
// times the L2), gpt-oss at 64 (2.9 MB) or from 1024 (y and h past the L2, y 2.6-5.3% of the weights),
// deepseek-v4-flash at 32 (3.1 MB) or 512 and deepseek-v3 at 256 (y and h past the L2, y under 10%); never the
// decode kernels, nor an unknown L2, nor with FP4MOE_Y_IN_L2=0.
TEST(Dispatch, YStaysInL2WhereItFitsAndMatters) {
  const struct {
    const MoeConfig& config;
    const char* name;
    std::vector<int> in_l2, not_in_l2;
  } shapes[] = {{kQwen3, "qwen3", {96, 160, 192, 256, 384, 512, 640, 768, 1024, 1536}, {1, 8, 64, 2048, 4096}},
                {kGptOss, "gpt-oss", {128, 512, 640}, {1, 8, 64, 1024, 1536, 2048, 4096}},
                {kDsv4, "deepseek-v4-flash", {64, 256, 384}, {1, 8, 32, 512, 1024, 4096}},
                {kDsv3, "deepseek-v3", {32, 64, 192}, {1, 8, 256, 512, 4096}}};
  for (const auto& [c, name, in_l2, not_in_l2] : shapes) {
    for (int tokens : in_l2) EXPECT_TRUE(choose_for(c, tokens).y_in_l2) << name << " T=" << tokens;
    for (int tokens : not_in_l2) EXPECT_FALSE(choose_for(c, tokens).y_in_l2) << name << " T=" << tokens;
  }
  EXPECT_FALSE(choose_for(kQwen3, 512, {.y_in_l2 = false}).y_in_l2) << "turned off";
  DeviceWaves unknown = hopper_waves();
  unknown.l2_bytes = 0;
  EXPECT_FALSE(choose_kernels(512, kQwen3, true, std::nullopt, packed_rows(kQwen3, WeightRole::kGateUp),
                              packed_rows(kQwen3, WeightRole::kDown), unknown)
                   .y_in_l2)
      << "L2 unknown";
  // The lines at qwen3's 4096 pairs (y 33.6 MB, h 6.3 MB): within the L2, y against 3.5% of the weights or 5 MB
  // (8192 bytes a pair: 611 pairs are over it, 610 under); past it, y against 10% of the weights and y + h against
  // 2.5 times the L2.
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 4096, 1, 340e6, 38 << 20));
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 4096, 1, 28 * 33.6e6, 50 << 20)) << "y just over 3.5% of the weights";
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 4096, 1, 29 * 33.6e6, 50 << 20)) << "y under 3.5% of the weights, over 5 MB";
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 611, 1, 1e12, 50 << 20)) << "y just over 5 MB, a tiny share";
  EXPECT_FALSE(y_stays_in_l2(kQwen3, 610, 1, 1e12, 50 << 20)) << "y just under 5 MB and 3.5% of the weights";
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 610, 1, 610 * 8192 / 0.036, 50 << 20)) << "y under 5 MB, over 3.5% of the weights";
  EXPECT_FALSE(y_stays_in_l2(kQwen3, 4096, 1, 29 * 33.6e6, 37 << 20)) << "past the L2, y under 3.5% of the weights";
  EXPECT_FALSE(y_stays_in_l2(kQwen3, 4096, 1, 340e6, 37 << 20)) << "past the L2, y 9.9% of the weights";
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 4096, 1, 300e6, 37 << 20)) << "past the L2, y 11% of the weights";
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 4096, 1, 300e6, 16 << 20)) << "y and h 2.4 times the L2";
  EXPECT_FALSE(y_stays_in_l2(kQwen3, 4096, 1, 300e6, 15 << 20)) << "y and h 2.5 times the L2 and more";
  EXPECT_TRUE(y_stays_in_l2(kQwen3, 4096, 2, 340e6, 28 << 20)) << "two K slices: y twice, 2.5 times the L2 with h";
  EXPECT_FALSE(y_stays_in_l2(kQwen3, 4096, 2, 340e6, 27 << 20)) << "two K slices: past 2.5 times the L2";
}

// The workspace holds the sorted rows' copy (T*k rows of H BF16 values) only where the rule can take a
// batch: on Hopper, for a GEMM 1 of at least twelve row blocks, where its largest batch has 24 rows per expert.
TEST(Dispatch, WorkspaceHoldsSortedRowsOnlyWhereTheRuleCanApply) {
  const auto copy_bytes = [](const MoeConfig& c, int tokens, bool hopper) {
    const WorkspaceLayout l = WorkspaceLayout::make(c, tokens, min_block_tokens(), hopper);
    return l.h_bf16 - l.x_sorted;  // the copy lies between them
  };
  const size_t dsv4_copy = size_t(1024) * kDsv4.top_k * kDsv4.hidden * sizeof(bf16);
  EXPECT_EQ(copy_bytes(kDsv4, 1024, true), dsv4_copy);
  EXPECT_EQ(copy_bytes(kDsv4, 1023, true), 0u) << "under 24 rows per expert";
  EXPECT_EQ(copy_bytes(kDsv4, 1024, false), 0u) << "off Hopper";
  EXPECT_EQ(copy_bytes(kQwen3, 1024, true), 0u) << "six row blocks";
  EXPECT_EQ(WorkspaceLayout::make(kDsv4, 1024, min_block_tokens(), true).total,
            WorkspaceLayout::make(kDsv4, 1024, min_block_tokens(), false).total + dsv4_copy);
}

// GEMM 2's K in two slices where its one-tile wgmma kernel has at most a wave of expected CTAs and K is long:
// the few-expert models measured (mixtral, grok-1) at 32-128 tokens; not where the grid is over a wave
// (llama4-scout, dbrx), not on the benchmark shapes (K of 768-2880), the decode kernels, the persistent GEMM 2,
// a forced tile, off Hopper or when turned off. The workspace holds the second y only where it can happen.
TEST(Dispatch, GemmTwoSplitsItsKWhereItsGridIsUnderAWave) {
  const MoeConfig mixtral{8, 4096, 14336, 2, {}, QuantMode::kW4A16, 0, -1, 4096};
  const MoeConfig grok{8, 6144, 32768, 2, {}, QuantMode::kW4A16, 0, -1, 4096};
  const MoeConfig scout{16, 5120, 8192, 1, {}, QuantMode::kW4A16, 0, -1, 4096};
  const MoeConfig dbrx{16, 6144, 10752, 4, {}, QuantMode::kW4A16, 0, -1, 4096};
  const auto report = [](const char* name, const MoeConfig& c, int t) {
    const ForwardKernels k = choose_for(c, t);
    const int64_t rows = packed_rows(c, WeightRole::kDown);
    std::printf("%s T=%d: GEMM 2 %s, %s, %lld expected CTAs of a wave of %lld, %d K slices\n", name, t,
                gemm_name(k.gemm2).c_str(), k.decode_kernels ? "decode" : k.persistent_gemm2 ? "persistent" : "grouped",
                static_cast<long long>(whole_touched_experts(expected_touched_experts(t, c)) *
                                       ceil_div(rows, k.gemm2.block_rows())),
                static_cast<long long>(hopper_waves().of_wgmma(k.gemm2)), k.gemm2_k_slices);
    return k.gemm2_k_slices;
  };
  for (int t : {32, 64, 96, 128}) EXPECT_EQ(report("mixtral", mixtral, t), 2) << "mixtral T=" << t;
  for (int t : {64, 96}) EXPECT_EQ(report("grok-1", grok, t), 2) << "grok T=" << t;
  for (int t : {32, 64, 128}) {
    EXPECT_EQ(report("llama4-scout", scout, t), 1) << "scout T=" << t;
    EXPECT_EQ(report("dbrx", dbrx, t), 1) << "dbrx T=" << t;
  }
  for (const MoeConfig& c : {kQwen3, kGptOss, kDsv4, kDsv3})
    for (int t = 1; t <= 16384; t *= 2) EXPECT_EQ(choose_for(c, t).gemm2_k_slices, 1) << c.hidden << " T=" << t;
  EXPECT_EQ(report("mixtral", mixtral, 1), 1) << "decode kernels";
  EXPECT_EQ(report("mixtral", mixtral, 8192), 1) << "past kGemm2SplitMaxPairs";
  const int64_t up = packed_rows(mixtral, WeightRole::kGateUp), down = packed_rows(mixtral, WeightRole::kDown);
  EXPECT_EQ(choose_kernels(32, mixtral, false, std::nullopt, up, down, hopper_waves()).gemm2_k_slices, 1)
      << "off Hopper";
  EXPECT_EQ(choose_kernels(32, mixtral, true, kWgmma32TwoPerSm, up, down, hopper_waves()).gemm2_k_slices, 1)
      << "forced";
  EXPECT_EQ(choose_kernels(32, mixtral, true, std::nullopt, up, down, hopper_waves(), false, {.gemm2_k_split = false})
                .gemm2_k_slices,
            1)
      << "turned off";
  // The workspace: a second y of min(T*k, kGemm2SplitMaxPairs) rows of H floats, on Hopper, for K >= 8192.
  const auto y_slice_bytes = [](const MoeConfig& c, int tokens, bool hopper) {
    const WorkspaceLayout l = WorkspaceLayout::make(c, tokens, min_block_tokens(), hopper);
    return l.arrivals - l.y_slice;
  };
  EXPECT_EQ(y_slice_bytes(mixtral, 128, true), size_t(256) * 4096 * sizeof(float));
  EXPECT_EQ(y_slice_bytes(mixtral, 4096, true), size_t(kGemm2SplitMaxPairs) * 4096 * sizeof(float));
  EXPECT_EQ(y_slice_bytes(mixtral, 128, false), 0u) << "off Hopper";
  EXPECT_EQ(y_slice_bytes(kDsv3, 128, true), 0u) << "K 2048";
}

// FP4MOE_LARGE_TILES and FP4MOE_PERSISTENT_DOWN: unset or 1 on, 0 off, anything else rejected by name.
TEST(Dispatch, RuleSwitchesByNameOrAClearError) {
  for (const auto& [name, read] : {std::pair{"FP4MOE_LARGE_TILES", &large_tiles_from_env},
                                   std::pair{"FP4MOE_PERSISTENT_DOWN", &persistent_down_from_env},
                                   std::pair{"FP4MOE_EPILOGUE_QUANTIZE", &epilogue_quantize_from_env},
                                   std::pair{"FP4MOE_OWN_TILES", &own_tiles_from_env},
                                   std::pair{"FP4MOE_SPLIT_WAVES", &split_waves_from_env},
                                   std::pair{"FP4MOE_TILE_HANDOFF", &tile_handoff_from_env},
                                   std::pair{"FP4MOE_SORTED_ROWS", &sorted_rows_from_env},
                                   std::pair{"FP4MOE_GEMM2_K_SPLIT", &gemm2_k_split_from_env},
                                   std::pair{"FP4MOE_Y_IN_L2", &y_in_l2_from_env},
                                   std::pair{"FP4MOE_FEWER_CTAS", &fewer_ctas_from_env}}) {
    ASSERT_EQ(unsetenv(name), 0);
    EXPECT_TRUE(read()) << name;
    ASSERT_EQ(setenv(name, "0", 1), 0);
    EXPECT_FALSE(read()) << name;
    ASSERT_EQ(setenv(name, "1", 1), 0);
    EXPECT_TRUE(read()) << name;
    ASSERT_EQ(setenv(name, "off", 1), 0);
    try {
      read();
      ADD_FAILURE() << name << ": an unknown value must be rejected";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(name), std::string::npos) << what;
      EXPECT_NE(what.find("got off"), std::string::npos) << what;
    }
    ASSERT_EQ(unsetenv(name), 0);
  }
}

TEST(Dispatch, ForcedShapeByNameOrAClearError) {
  ASSERT_EQ(setenv("FP4MOE_GEMM", "mma16-r128-w4-s4-d4", 1), 0);
  const auto forced = forced_gemm_from_env(true);
  ASSERT_TRUE(forced.has_value());
  EXPECT_EQ(gemm_name(*forced), "mma16-r128-w4-s4-d4");

  ASSERT_EQ(setenv("FP4MOE_GEMM", "mma32", 1), 0);
  try {
    forced_gemm_from_env(true);
    ADD_FAILURE() << "an unknown name must be rejected";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("FP4MOE_GEMM"), std::string::npos) << what;
    EXPECT_NE(what.find("mma32-r128-w4-s4-d2"), std::string::npos) << "lists the compiled names: " << what;
    EXPECT_NE(what.find("got mma32"), std::string::npos) << what;
  }
  ASSERT_EQ(setenv("FP4MOE_GEMM", "wgmma128-r256-w8-s8", 1), 0);
  EXPECT_THROW(forced_gemm_from_env(false), Error) << "no wgmma off Hopper";

  ASSERT_EQ(setenv("FP4MOE_GEMM", "", 1), 0);
  EXPECT_FALSE(forced_gemm_from_env(true).has_value());
  ASSERT_EQ(unsetenv("FP4MOE_GEMM"), 0);
}

}  // namespace
}  // namespace fp4moe::cuda
