// The CUDA layer against the CPU float64 reference on the same quantized weights: the four
// benchmark shapes at small batches, every activation and mode, both scale layouts, and the edges
// (0 and 1 tokens, empty experts, one hot expert, sizes off the tile grid, dropped and non-local
// ids, NaN input). Outputs are NaN-poisoned before each run (run_forward), so unwritten elements
// show as NaN and fail the error bound.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "chosen_kernels.h"
#include "common/compare.h"
#include "common/configs.h"
#include "common/expect_error.h"
#include "common/random_experts.h"
#include "common/random_inputs.h"
#include "common/run_layer.h"
#include "cuda/common/launch.h"
#include "cuda/moe/dispatch.h"
#include "gpu_test.h"

namespace fp4moe {
namespace {

using testing::chosen_kernels;
using testing::down_rows;
using testing::gate_up_rows;
using testing::make_config;
using testing::on_hopper;

// A CPU layer (the reference) and a CUDA layer holding the same random weights.
struct LayerPair {
  testing::RandomExperts experts;
  std::unique_ptr<MoeLayer> cpu, gpu;

  LayerPair(const MoeConfig& config, uint64_t seed, ScaleLayout layout = ScaleLayout::kLinear, bool with_bias = false)
      : experts(config, seed, with_bias),
        cpu(make_moe_layer(config, Backend::kCpu)),
        gpu(make_moe_layer(config, Backend::kCuda)) {
    experts.load_into(*cpu);
    experts.load_into(*gpu, layout);
  }

  void set_input_scales(float a1, float a2) {
    cpu->set_input_scales(a1, a2);
    gpu->set_input_scales(a1, a2);
  }

  // Runs both and returns the GPU output's relative error against the float64 reference.
  double error(const std::vector<bf16>& x, const testing::Routing& routing, const char* label) {
    const auto got = testing::run_forward(*gpu, x, routing);
    const auto want = testing::run_reference(*cpu, x, routing);
    const double err = testing::rel_error(got, want);
    std::printf("  %-44s T=%-5d touched=%-4d rel_error=%.3e\n", label, routing.num_tokens,
                testing::touched_local_experts(routing, gpu->config()), err);
    return err;
  }
};

constexpr double kBound = 1e-2;  // spec section 6

// The activations of a layer under test: not quantized (W4A16), or quantized with dynamic or calibrated scales (W4A4).
enum class Scales { kNone, kDynamic, kCalibrated };

QuantMode mode_of(Scales scales) { return scales == Scales::kNone ? QuantMode::kW4A16 : QuantMode::kW4A4; }

const char* name_of(Scales scales) {
  return scales == Scales::kNone ? "W4A16" : scales == Scales::kDynamic ? "W4A4 dynamic" : "W4A4 calibrated";
}

// The calibrated input scales the tests set (ModelOpt's amax / 2688) for an x amax of 4 and an h amax of 0.5: they
// clip some of h, which is still the contract.
constexpr float kCalibratedX = 4.0f / 2688.0f, kCalibratedH = 0.5f / 2688.0f;

// The batches a kernel choice is checked on, each named: uniform with a tenth of the ids dropped or non-local,
// skewed, and every token on local expert `hot`.
std::vector<std::pair<std::string, testing::Routing>> uniform_skewed_one_expert(const MoeConfig& c, int tokens,
                                                                                int hot, testing::Rng& rng) {
  auto uniform = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
  testing::drop_some(uniform, c, 0.1, rng);
  std::vector<std::pair<std::string, testing::Routing>> batches;
  batches.emplace_back("uniform", std::move(uniform));
  batches.emplace_back("skewed", testing::skewed_routing(tokens, c.num_experts, c.top_k, rng));
  batches.emplace_back("one expert", testing::single_expert_routing(tokens, c.top_k, hot, rng));
  return batches;
}

// Elements whose bits differ between two outputs; all of them where the sizes differ.
size_t differing_elements(const std::vector<bf16>& a, const std::vector<bf16>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i].bits != b[i].bits;
  return differ;
}

// A benchmark switch of the CUDA layer (moe/dispatch.h's FP4MOE_*, read when a layer is created),
// set for a scope and unset again however the scope ends, so that later layers get the defaults.
struct ScopedEnv {
  ScopedEnv(const char* name, const std::string& value) : name(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  const char* name;
};

struct BenchShape {
  const char* name;
  int experts, hidden, intermediate, top_k;
  Activation act;
};

// The four shapes of shared/spec/benchmarking.md, each with its model's activation.
constexpr BenchShape kBenchShapes[] = {
    {"qwen3-30b-a3b", 128, 2048, 768, 8, Activation::kSilu},
    {"gpt-oss-120b", 128, 2880, 2880, 4, Activation::kSwigluOai},
    {"deepseek-v4-flash", 256, 4096, 2048, 6, Activation::kSiluClamped},
    {"deepseek-v3", 256, 7168, 2048, 8, Activation::kSilu},
};

TEST(GpuLayer, BenchmarkShapesSmallBatches) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(31);
  for (const BenchShape& s : kBenchShapes) {
    LayerPair layers(make_config(s.experts, s.hidden, s.intermediate, s.top_k, 64, s.act), 100 + s.experts);
    for (int tokens : {1, 2, 8, 33}) {  // 1 and 2: the decode kernels where moe/dispatch.h picks them
      const auto routing = testing::uniform_routing(tokens, s.experts, s.top_k, rng);
      const auto x = testing::random_bf16(size_t(tokens) * s.hidden, rng);
      EXPECT_LT(layers.error(x, routing, s.name), kBound) << s.name << " T=" << tokens;
    }
    const auto skewed = testing::skewed_routing(64, s.experts, s.top_k, rng);
    EXPECT_LT(layers.error(testing::random_bf16(size_t(64) * s.hidden, rng), skewed, s.name), kBound) << s.name;
  }
}

// The wgmma kernels (on Hopper) on each benchmark shape's sizes and activation, both modes: 8
// local experts of the model's count, ids drawn from 12 of them (a third non-local), so the real
// tiles are partly filled and uneven. At 144 tokens the dispatch sees >= 72 rows per expert (48
// to 96 real ones on average: the 64- and 128-token tiles run); at 128 / top-k tokens it sees 16
// (about 11 real ones: the 32-token tile with two CTAs per SM, full and short tiles), at 256 /
// top-k 32 (about 21: the 48-token tile with two CTAs per SM, full and short tiles), at 72 / top-k
// 9 (the 32-token tile where both K are long, moe/dispatch.h's for_long_k; qwen3's 16-token
// mma.sync tile). K here spans many turns of the 7- and 8-stage rings, which
// EveryCompiledTileShape's small sizes do not.
TEST(GpuLayer, BenchmarkShapesWgmmaKernels) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(36);
  constexpr int kMaxTokens = 144, kLocal = 8, kRoutedAmong = 12;
  for (const BenchShape& s : kBenchShapes) {
    for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
      MoeConfig c = make_config(s.experts, s.hidden, s.intermediate, s.top_k, kMaxTokens, s.act, mode);
      c.local_experts = kLocal;
      LayerPair layers(c, 200 + s.experts);
      for (int tokens : {9 * kLocal / s.top_k, 16 * kLocal / s.top_k, 32 * kLocal / s.top_k, kMaxTokens}) {
        const auto routing = testing::uniform_routing(tokens, kRoutedAmong, s.top_k, rng);
        const auto x = testing::random_bf16(size_t(tokens) * s.hidden, rng);
        EXPECT_LT(layers.error(x, routing, s.name), kBound) << s.name << " " << to_string(mode) << " T=" << tokens;
      }
    }
  }
}

TEST(GpuLayer, EveryActivationBothModesBothLayouts) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(32);
  for (Activation act : {Activation::kSilu, Activation::kSiluClamped, Activation::kSwigluOai, Activation::kGeluTanh}) {
    for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
      for (ScaleLayout layout : {ScaleLayout::kLinear, ScaleLayout::kSwizzled128x4}) {
        MoeConfig c = make_config(16, 256, 512, 4, 200, act, mode);
        c.activation.limit = 1.5f;  // low enough that the clamps bite
        LayerPair layers(c, 7, layout);
        const auto routing = testing::uniform_routing(200, c.num_experts, c.top_k, rng);
        const auto x = testing::random_bf16(size_t(200) * c.hidden, rng);
        EXPECT_LT(layers.error(x, routing, "activation/mode/layout"), kBound)
            << to_string(act) << " " << to_string(mode) << " layout " << int(layout);
      }
    }
  }
}

TEST(GpuLayer, W4A4CalibratedInputScales) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(33);
  LayerPair layers(make_config(8, 128, 256, 2, 64, Activation::kSilu, QuantMode::kW4A4), 9);
  layers.set_input_scales(kCalibratedX, kCalibratedH);
  const auto routing = testing::uniform_routing(64, 8, 2, rng);
  EXPECT_LT(layers.error(testing::random_bf16(64 * 128, rng), routing, "w4a4 calibrated"), kBound);
}

// K a multiple of 16 but not of 64 in both GEMMs, N off every tile size; 8 of the 12 experts
// local ([2, 10)), so that drop_some's ids outside that range are dropped too.
MoeConfig off_grid_config(int max_tokens) {
  MoeConfig c = make_config(12, 272, 208, 3, max_tokens);
  c.local_expert_start = 2;
  c.local_experts = 8;
  return c;
}

// The first `tokens` rows of hidden states x.
std::vector<bf16> first_tokens(const std::vector<bf16>& x, int tokens, int hidden) {
  return std::vector<bf16>(x.begin(), x.begin() + size_t(tokens) * hidden);
}

TEST(GpuLayer, EdgeCases) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(34);
  const MoeConfig c = off_grid_config(700);
  LayerPair layers(c, 5);
  const auto x = testing::random_bf16(size_t(700) * c.hidden, rng);

  EXPECT_TRUE(testing::run_forward(*layers.gpu, {}, testing::uniform_routing(0, 12, 3, rng)).empty());  // T = 0

  // Every dispatch row but the 1-token one, which BenchmarkShapesSmallBatches runs (rows per
  // expert T*3/8: 0.4, 0.8, 6, 9, 14, 24, 28, 41, 262); 700: many tiles per expert. 5 and 6 tokens:
  // the last batch of the decode kernels (15 pairs; moe/dispatch.h) and the first after it.
  for (int tokens : {1, 2, 5, 6, 16, 24, 37, 64, 75, 110, 700}) {
    auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
    testing::drop_some(routing, c, 0.25, rng);  // -1 and ids outside [2, 10)
    EXPECT_LT(layers.error(first_tokens(x, tokens, c.hidden), routing, "off-grid sizes, dropped ids"), kBound)
        << tokens;
  }
  const auto hot = testing::single_expert_routing(700, c.top_k, 4, rng);  // all tokens on one expert
  EXPECT_LT(layers.error(x, hot, "all tokens on one expert"), kBound);
  // Every slot of a decode batch on one expert (a routing may repeat an id): at 5 tokens two 8-row
  // tiles of it, at one token one row per slot.
  for (int tokens : {1, 5}) {
    testing::Routing hot_decode = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
    for (int32_t& id : hot_decode.ids) id = 4;
    EXPECT_LT(layers.error(first_tokens(x, tokens, c.hidden), hot_decode, "all decode pairs on one expert"), kBound)
        << tokens;
  }

  // W4A4 decode batches (gemm/decode_gemm.h: x quantized by its own kernel, h by count of sorted
  // rows from GEMM 1), dynamic scales and calibrated ones, with dropped and non-local ids.
  MoeConfig w4a4 = c;
  w4a4.mode = QuantMode::kW4A4;
  LayerPair w4a4_layers(w4a4, 8);
  for (int tokens : {1, 5}) {
    auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
    testing::drop_some(routing, c, 0.25, rng);
    EXPECT_LT(w4a4_layers.error(first_tokens(x, tokens, c.hidden), routing, "w4a4 decode, dynamic"), kBound) << tokens;
  }
  w4a4_layers.set_input_scales(kCalibratedX, kCalibratedH);
  auto calibrated = testing::uniform_routing(3, c.num_experts, c.top_k, rng);
  EXPECT_LT(w4a4_layers.error(first_tokens(x, 3, c.hidden), calibrated, "w4a4 decode, calibrated"), kBound);

  // No token routed to any local expert: the output is exactly zero, and written.
  for (int tokens : {1, 5}) {
    testing::Routing none = testing::uniform_routing(tokens, 12, 3, rng);
    for (auto& id : none.ids) id = id % 2 ? -1 : 11;
    const auto out = testing::run_forward(*layers.gpu, first_tokens(x, tokens, c.hidden), none);
    for (bf16 v : out) ASSERT_EQ(v.bits, 0) << "tokens with no local expert must be zero, T=" << tokens;
  }
}

// More slots a token than the combine reads at once (kCombineSlotsInFlight, 8): top-k 10 (Qwen3-Next) and 19
// (two whole groups and a short one), so that a token's sum runs over several groups of loads, with dropped and
// non-local ids inside each. 1-5 tokens: the decode kernels' own combine; 37 and 300: the combine kernel. Then
// top-k 10 where GEMM 2 runs in K slices (intermediate 8208, Hopper), whose later slices the combine adds to each
// slot of a group.
TEST(GpuLayer, CombineOfManySlots) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(42);
  for (int top_k : {10, 19}) {
    MoeConfig c = make_config(24, 272, 208, top_k, 300);
    c.local_expert_start = 2;
    c.local_experts = 20;
    LayerPair layers(c, 17);
    const auto x = testing::random_bf16(size_t(300) * c.hidden, rng);
    for (int tokens : {1, 2, 5, 37, 300}) {
      auto routing = testing::uniform_routing(tokens, c.num_experts, top_k, rng);
      testing::drop_some(routing, c, 0.25, rng);
      EXPECT_LT(layers.error(first_tokens(x, tokens, c.hidden), routing, "many slots, dropped ids"), kBound)
          << "top-k " << top_k << " T=" << tokens;
    }
  }
  if (!on_hopper()) return;
  const MoeConfig c = make_config(24, 208, 8208, 10, 100);
  LayerPair layers(c, 18);
  const auto x = testing::random_bf16(size_t(100) * c.hidden, rng);
  for (int tokens : {40, 64}) {
    ASSERT_EQ(chosen_kernels(c, tokens).gemm2_k_slices, cuda::kGemm2KSlices)
        << "T=" << tokens << ": GEMM 2 must run in K slices, or this case checks nothing";
    auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
    testing::drop_some(routing, c, 0.25, rng);
    EXPECT_LT(layers.error(first_tokens(x, tokens, c.hidden), routing, "many slots, GEMM 2 in K slices"), kBound)
        << "T=" << tokens;
  }
}

// Large tiles (moe/dispatch.h, on Hopper): skewed batches whose hot experts fill one or more large
// tiles and leave a short rest for the table's tile, above an mma.sync tile (200 tokens: about 6
// rows per expert, hot experts about 100), above the 32-token wgmma tile (600 tokens: about 19,
// hot experts about 300, and every token on one expert) and above the 64-token one (1100 tokens:
// about 34, the table keying on 46); both modes, dropped and non-local ids. Both GEMMs need ten
// row blocks of 256 rows for large tiles: 2944 and 2688 padded rows here, with K (2576 and 1424) off
// the 64-wide K step; and the local experts' blocks three waves of a two-CTA tile (96 x 10 on 132
// SMs: 3.6). Above the wgmma tiles GEMM 1's two launches read the rows in sorted order.
TEST(GpuLayer, LargeTilesOfSkewedBatches) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(37);
  const bool hopper = on_hopper();
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    MoeConfig c = make_config(128, 2576, 1424, 4, 1100, Activation::kSilu, mode);
    c.local_experts = 96;  // the skewed routing's hot experts 0-3 are local
    LayerPair layers(c, 11);
    const auto x = testing::random_bf16(size_t(1100) * c.hidden, rng);
    for (int tokens : {200, 600, 1100}) {
      if (hopper) {
        EXPECT_TRUE(chosen_kernels(c, tokens).large) << tokens;
        EXPECT_EQ(chosen_kernels(c, tokens).sorted_rows, tokens > 200) << tokens;
      }
      auto routing = testing::skewed_routing(tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.1, rng);
      EXPECT_LT(layers.error(first_tokens(x, tokens, c.hidden), routing, "skewed, large tiles"), kBound)
          << to_string(mode) << " T=" << tokens;
    }
    const auto hot = testing::single_expert_routing(600, c.top_k, 4, rng);
    EXPECT_LT(layers.error(first_tokens(x, 600, c.hidden), hot, "all tokens on one expert, large tiles"), kBound)
        << to_string(mode);
    if (mode == QuantMode::kW4A16) continue;
    // Calibrated scales: both launches of GEMM 1 quantize h in their epilogues (moe/dispatch.h).
    layers.set_input_scales(kCalibratedX, kCalibratedH);
    auto routing = testing::skewed_routing(600, c.num_experts, c.top_k, rng);
    testing::drop_some(routing, c, 0.1, rng);
    EXPECT_LT(layers.error(first_tokens(x, 600, c.hidden), routing, "skewed, large tiles, w4a4 calibrated"), kBound);
  }
}

// GEMM 2's persistent kernel (moe/dispatch.h's use_persistent_down) in each of its forms, checked
// to be the dispatch's choice: K = 208 (off the 64-wide step, within the short-K limit) or 1104
// (beyond it, off the step too), 2048 hidden (8 row blocks of 256), two thirds or three quarters
// of the experts local, dropped and non-local ids; more (tile, row block) items than resident CTAs,
// full and short tiles, so every CTA's ring carries over from item to item; then every token on one
// expert. The 128-token tile (one CTA per SM) at about 300 or 275 rows per expert, y staged at the
// short K and stored directly at the long one; the two-CTA tiles (y stored directly) at about 16
// (the 32-token tile) and 32 (the 48-token one), and the one-CTA 64-token tile at about 35; the
// table keys on tokens * top_k / local experts. Both modes: W4A16 takes GEMM 1's tiles as they finish,
// W4A4 waits for all of GEMM 1 and its quantization. The staged form (gemm/staged_y.cuh) also at
// 1104 hidden, whose last row block has 80 columns in its first warpgroup's half and none in its
// second.
TEST(GpuLayer, PersistentGemm2) {
  FP4MOE_REQUIRE_GPU();
  if (!on_hopper()) GTEST_SKIP() << "a wgmma kernel";
  testing::Rng rng(38);
  struct Case {
    int experts, local_start, local, top_k, tokens;  // rows per local expert = tokens * top_k / local
    int hidden, intermediate;
    cuda::MmaTileConfig tile;
    bool stages_y;
  };
  for (const Case& k : {Case{12, 2, 8, 3, 1200, 2048, 208, cuda::kPersistentDownTile, true},
                        Case{12, 2, 8, 3, 1200, 1104, 208, cuda::kPersistentDownTile, true},
                        Case{12, 2, 8, 3, 1100, 2048, 1104, cuda::kPersistentDownTile, false},
                        Case{64, 10, 48, 4, 256, 2048, 208, cuda::kWgmma32TwoPerSm, false},
                        Case{64, 10, 48, 4, 512, 2048, 208, cuda::kWgmma48TwoPerSm, false},
                        Case{64, 10, 48, 4, 560, 2048, 208, cuda::kWgmma64, false}}) {
    for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
      MoeConfig c = make_config(k.experts, k.hidden, k.intermediate, k.top_k, k.tokens, Activation::kSilu, mode);
      c.local_expert_start = k.local_start;
      c.local_experts = k.local;
      const cuda::MmaTileConfig tile = cuda::choose_gemm(k.tokens, c, true);
      ASSERT_EQ(tile, k.tile) << k.tokens;
      ASSERT_TRUE(cuda::use_persistent_down(tile, c.intermediate, true)) << k.tokens;
      ASSERT_EQ(cuda::stage_persistent_down(tile, c.intermediate), k.stages_y) << k.tokens;
      LayerPair layers(c, 12);
      const auto x = testing::random_bf16(size_t(k.tokens) * c.hidden, rng);
      auto routing = testing::uniform_routing(k.tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.1, rng);
      const std::string label = "persistent GEMM 2, " + cuda::gemm_name(tile) +
                                (k.stages_y ? ", y staged" : ", y direct") + ", H=" + std::to_string(k.hidden);
      EXPECT_LT(layers.error(x, routing, label.c_str()), kBound) << to_string(mode);
      const auto hot = testing::single_expert_routing(k.tokens, c.top_k, k.local_start + 2, rng);
      EXPECT_LT(layers.error(x, hot, (label + ", all tokens on one expert").c_str()), kBound) << to_string(mode);
    }
  }
}

// Every compiled tile shape, forced as a benchmark sweep forces it (FP4MOE_GEMM, read when a layer
// is created), on sizes off the tile grid with dropped and non-local ids: shapes that only a sweep
// or a later table picks are as correct as the table's. wgmma shapes only on Hopper.
TEST(GpuLayer, EveryCompiledTileShape) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(37);
  const MoeConfig c = off_grid_config(160);
  const auto x = testing::random_bf16(size_t(160) * c.hidden, rng);
  const bool hopper = cuda::device_is_hopper(0);  // the layer's own test for wgmma kernels
  for (const cuda::MmaTileConfig& tile : cuda::compiled_gemm_tiles()) {
    if (tile.wgmma && !hopper) continue;
    const std::string name = cuda::gemm_name(tile);
    const ScopedEnv forced("FP4MOE_GEMM", name);
    LayerPair layers(c, 6);
    for (int tokens : {1, 9, 160}) {
      auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.25, rng);
      EXPECT_LT(layers.error(first_tokens(x, tokens, c.hidden), routing, name.c_str()), kBound)
          << name << " T=" << tokens;
    }
    // Every token on one expert: whole tiles of every token block up to 128 (the epilogues' path
    // without bounds tests) beside a short one, and a partial last row block of both GEMMs.
    const auto hot = testing::single_expert_routing(160, c.top_k, 4, rng);
    EXPECT_LT(layers.error(x, hot, name.c_str()), kBound) << name << " all tokens on one expert";
    // The local experts' rows chosen so that every wgmma tile's last tiles take each of its token
    // widths (wgmma_pipeline.cuh): 32 tokens 16/24/32, 48 tokens 24/32/40/48, 64 tokens 32/48/64,
    // 128 tokens 64/96/128.
    const auto stairs = testing::rows_per_expert_routing(160, c.top_k, c.local_expert_start,
                                                         {5, 20, 30, 38, 45, 60, 90, 127}, rng);
    EXPECT_LT(layers.error(x, stairs, name.c_str()), kBound) << name << " every token width";
    // W4A4 with calibrated scales: GEMM 1's epilogue quantizes h where the shape can (gemm/grouped_gemm.h's
    // epilogue_quantizes_h: two m-tiles per warp, or one over warp pairs), a kernel of its own after it
    // elsewhere.
    MoeConfig w4a4 = c;
    w4a4.mode = QuantMode::kW4A4;
    LayerPair calibrated(w4a4, 6);
    calibrated.set_input_scales(kCalibratedX, kCalibratedH);
    const std::string label = name + (cuda::epilogue_quantizes_h(tile) ? ", w4a4, h by GEMM 1" : ", w4a4, h by kernel");
    for (int tokens : {1, 9}) {  // the decode kernels at 1 token (3 pairs) where the shape has them
      auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.25, rng);
      EXPECT_LT(calibrated.error(first_tokens(x, tokens, c.hidden), routing, label.c_str()), kBound)
          << label << " T=" << tokens;
    }
    EXPECT_LT(calibrated.error(x, stairs, label.c_str()), kBound) << label << " every token width";
    EXPECT_LT(calibrated.error(x, hot, label.c_str()), kBound) << label << " all tokens on one expert";
    // W4A4 with dynamic scales: h in FP32 and its amax from GEMM 1's epilogue, over tiles of every
    // token width (the token columns past a tile's rows must not count).
    LayerPair dynamic(w4a4, 6);
    EXPECT_LT(dynamic.error(x, stairs, (name + ", w4a4 dynamic").c_str()), kBound) << name << " w4a4 dynamic";
  }
}

// Expert biases (gpt-oss) go through every epilogue: each compiled tile shape forced, at one token
// (the decode kernels where the shape has them) and at every token width, W4A16, W4A4 with h
// quantized by GEMM 1 or by a kernel, and dynamic W4A4 (FP32 h); the staged persistent GEMM 2, whose
// last row block is partly past H; gpt-oss's own shape at decode batches. Biases of +-0.5 on O(1)
// outputs: a kernel that dropped one would miss the bound by far.
TEST(GpuLayer, ExpertBiasesInEveryEpilogue) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(41);
  const MoeConfig c = off_grid_config(160);
  const auto x = testing::random_bf16(size_t(160) * c.hidden, rng);
  const bool hopper = cuda::device_is_hopper(0);
  MoeConfig w4a4 = c;
  w4a4.mode = QuantMode::kW4A4;
  for (const cuda::MmaTileConfig& tile : cuda::compiled_gemm_tiles()) {
    if (tile.wgmma && !hopper) continue;
    const std::string name = cuda::gemm_name(tile) + ", biases";
    const ScopedEnv forced("FP4MOE_GEMM", cuda::gemm_name(tile));
    LayerPair layers(c, 8, ScaleLayout::kLinear, true);
    auto one = testing::uniform_routing(1, c.num_experts, c.top_k, rng);
    EXPECT_LT(layers.error(first_tokens(x, 1, c.hidden), one, name.c_str()), kBound) << name << " T=1";
    const auto stairs = testing::rows_per_expert_routing(160, c.top_k, c.local_expert_start,
                                                         {5, 20, 30, 38, 45, 60, 90, 127}, rng);
    EXPECT_LT(layers.error(x, stairs, name.c_str()), kBound) << name << " every token width";
    LayerPair calibrated(w4a4, 8, ScaleLayout::kLinear, true);
    calibrated.set_input_scales(kCalibratedX, kCalibratedH);
    EXPECT_LT(calibrated.error(x, stairs, (name + ", w4a4 calibrated").c_str()), kBound) << name;
    LayerPair dynamic(w4a4, 8, ScaleLayout::kLinear, true);
    auto nine = testing::uniform_routing(9, c.num_experts, c.top_k, rng);
    testing::drop_some(nine, c, 0.25, rng);
    EXPECT_LT(dynamic.error(first_tokens(x, 9, c.hidden), nine, (name + ", w4a4 dynamic").c_str()), kBound) << name;
  }
  if (hopper) {
    MoeConfig staged = make_config(12, 1104, 208, 3, 1200);
    staged.local_expert_start = 2;
    staged.local_experts = 8;
    ASSERT_TRUE(cuda::stage_persistent_down(cuda::choose_gemm(1200, staged, true), staged.intermediate));
    LayerPair layers(staged, 9, ScaleLayout::kLinear, true);
    auto routing = testing::uniform_routing(1200, staged.num_experts, staged.top_k, rng);
    testing::drop_some(routing, staged, 0.1, rng);
    EXPECT_LT(layers.error(testing::random_bf16(size_t(1200) * staged.hidden, rng), routing,
                           "persistent GEMM 2, y staged, biases"),
              kBound);
  }
  const BenchShape& oss = kBenchShapes[1];
  LayerPair layers(make_config(oss.experts, oss.hidden, oss.intermediate, oss.top_k, 64, oss.act), 10,
                   ScaleLayout::kLinear, true);
  for (int tokens : {1, 2, 8, 64}) {
    const auto routing = testing::uniform_routing(tokens, oss.experts, oss.top_k, rng);
    EXPECT_LT(layers.error(testing::random_bf16(size_t(tokens) * oss.hidden, rng), routing, "gpt-oss-120b, biases"),
              kBound)
        << "T=" << tokens;
  }
}

// A null bias is a zero one on the GPU too: experts loaded again without biases compute what a layer
// that never had any does, bit for bit (the decode kernels at 1 token, the grouped GEMMs at 64).
TEST(GpuLayer, ExpertsLoadedAgainWithoutBiasesLoseThem) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(42);
  const MoeConfig c = off_grid_config(64);
  const testing::RandomExperts with_bias(c, 11, true), without(c, 11, false);
  auto biased = make_moe_layer(c, Backend::kCuda), plain = make_moe_layer(c, Backend::kCuda);
  with_bias.load_into(*biased);
  without.load_into(*plain);
  for (int tokens : {1, 64}) {
    const auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
    const auto x = testing::random_bf16(size_t(tokens) * c.hidden, rng);
    const auto before = testing::run_forward(*biased, x, routing);
    without.load_into(*biased);
    const auto after = testing::run_forward(*biased, x, routing);
    const auto want = testing::run_forward(*plain, x, routing);
    EXPECT_EQ(differing_elements(after, want), 0u) << "T=" << tokens;
    EXPECT_GT(differing_elements(before, want), 0u) << "T=" << tokens << ": the biases changed nothing";
    with_bias.load_into(*biased);
  }
}

// The K-split decode tiles copy a K slice's real token rows once where they fit the slice's stages
// (gemm/mma_mainloop.cuh's run_resident: rows x K steps <= 64) and stream them through the stages
// otherwise. GEMM 1's K here (4112: 65 steps, the last partial) splits into slices of 33 and 32 steps
// (two slices) or 17, 17, 17 and 14 (four): one row is resident in every slice, two rows in the
// two-slice tiles' second slice only (a CTA with both paths), three in every four-slice slice, from
// four on the four-slice tile streams; GEMM 2 (K 272, 5 steps) is resident up to 8 rows. Tiles of
// 1-5 rows, two full ones, and rows from repeated ids (a routing may name an expert twice for a
// token, so a tile can hold more rows than there are tokens).
TEST(GpuLayer, KSplitTilesResidentAndStagedTokenRows) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(38);
  MoeConfig c = make_config(6, 4112, 272, 2, 8);
  const auto x = testing::random_bf16(size_t(8) * c.hidden, rng);
  std::vector<testing::Routing> routings = {
      testing::rows_per_expert_routing(1, 2, 0, {1}, rng),
      testing::rows_per_expert_routing(8, 2, 0, {1, 2, 3, 4, 5}, rng),
      testing::rows_per_expert_routing(8, 2, 2, {8, 8}, rng),
      testing::uniform_routing(1, c.num_experts, 2, rng),
      testing::uniform_routing(1, c.num_experts, 2, rng),
      testing::uniform_routing(4, c.num_experts, 2, rng)};
  routings[4].ids = {3, 3};                          // one token, two rows of expert 3
  std::fill(routings[5].ids.begin(), routings[5].ids.end(), 5);  // four tokens, eight rows of expert 5
  for (const cuda::MmaTileConfig& tile : cuda::compiled_gemm_tiles()) {
    if (tile.wgmma || tile.split_k == 1) continue;
    const std::string name = cuda::gemm_name(tile);
    const ScopedEnv forced("FP4MOE_GEMM", name);
    for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
      c.mode = mode;
      LayerPair layers(c, 12);
      const std::string label = name + " " + std::string(to_string(mode));
      for (size_t i = 0; i < routings.size(); ++i)
        EXPECT_LT(layers.error(first_tokens(x, routings[i].num_tokens, c.hidden), routings[i], label.c_str()), kBound)
            << label << " routing " << i;
    }
  }
}

// The K-split tiles as the table gives them beyond one token in eight experts (moe/dispatch.h's for_gemm2_waves: up
// to 5 rows per expert where GEMM 2 has few waves of the two-slice tile): a few experts with long K, 1-5 rows per
// expert, in the decode kernels (at most 16 pairs) and in the general chain; GEMM 2 on four slices (for_grid) beside
// GEMM 1 on two. Hidden 1040 is off the 64-row blocks and intermediate 2064 off the 64-wide K steps; uniform routing
// with dropped and non-local ids, skewed, and every token on one expert.
TEST(GpuLayer, KSplitTilesAtSeveralRowsPerExpert) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(39);
  const bool hopper = on_hopper();
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    MoeConfig c = make_config(8, 1040, 2064, 2, 14, Activation::kSilu, mode);
    c.local_experts = 6;  // 14 tokens: 4.7 rows per local expert
    LayerPair layers(c, 13);
    const auto x = testing::random_bf16(size_t(14) * c.hidden, rng);
    for (int tokens : {3, 8, 14}) {
      if (hopper) {
        const cuda::ForwardKernels k = chosen_kernels(c, tokens);
        EXPECT_EQ(k.gemm1, cuda::kDecodeTile) << tokens;
        EXPECT_EQ(k.gemm2, cuda::kDecodeTileOneWave) << tokens;
        EXPECT_EQ(k.decode_kernels, tokens * c.top_k <= cuda::kDecodeKernelsMaxPairs) << tokens;
      }
      for (const auto& [kind, routing] : uniform_skewed_one_expert(c, tokens, 2, rng)) {
        const std::string label = "K-split, " + std::string(to_string(mode)) + ", " + kind;
        EXPECT_LT(layers.error(first_tokens(x, tokens, c.hidden), routing, label.c_str()), kBound) << label << tokens;
      }
    }
  }
}

// GEMM 2 on four K slices past one wave of them (moe/dispatch.h's kFourSliceLongSteps): 16 K steps a slice
// (intermediate 4096) and 18 row blocks (hidden 1104, off the 64-row blocks) on about 16 touched experts: more CTAs
// than one wave of 132 SMs holds, beside GEMM 1 on two slices, in the general chain; uniform with dropped and
// non-local ids, skewed, and every token on one expert, both modes.
TEST(GpuLayer, FourSliceGemmTwoPastOneWave) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(41);
  const bool hopper = on_hopper();
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    MoeConfig c = make_config(22, 1104, 4096, 4, 8, Activation::kSilu, mode);
    c.local_experts = 20;
    LayerPair layers(c, 17);
    const auto x = testing::random_bf16(size_t(8) * c.hidden, rng);
    if (hopper) {
      const cuda::ForwardKernels k = chosen_kernels(c, 8);
      EXPECT_EQ(k.gemm1, cuda::kDecodeTile);
      EXPECT_EQ(k.gemm2, cuda::kDecodeTileOneWave);
      EXPECT_FALSE(k.decode_kernels);
    }
    for (const auto& [kind, routing] : uniform_skewed_one_expert(c, 8, 3, rng)) {
      const std::string label = "four-slice GEMM 2, " + std::string(to_string(mode)) + ", " + kind;
      EXPECT_LT(layers.error(x, routing, label.c_str()), kBound) << label;
    }
  }
}

// GEMM 1's epilogue quantizes h (W4A4, calibrated scales) to the same bits as the quantization
// kernel does after it (FP4MOE_EPILOGUE_QUANTIZE=0): the whole outputs are identical, at batch sizes
// from the decode kernels (one m-tile per warp: blocks over warp pairs) through the grouped mma.sync
// tiles to the 128-token wgmma tile, a skewed batch, off-grid sizes, dropped and non-local ids, and a
// NaN and an Inf in x (the NaN's blocks of h must come out NaN as the kernel's do).
// EveryCompiledTileShape runs every tile so against the reference, LargeTilesOfSkewedBatches the
// large tiles.
TEST(GpuLayer, EpilogueQuantizationEqualsTheKernel) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(39);
  MoeConfig c = off_grid_config(1100);
  c.mode = QuantMode::kW4A4;
  testing::RandomExperts experts(c, 13);
  const auto make_layer = [&](const char* rule) {
    auto layer = [&] {
      const ScopedEnv switched("FP4MOE_EPILOGUE_QUANTIZE", rule);
      return make_moe_layer(c, Backend::kCuda);
    }();
    experts.load_into(*layer);
    layer->set_input_scales(kCalibratedX, kCalibratedH);
    return layer;
  };
  const auto fused = make_layer("1"), kernel = make_layer("0");
  auto x = testing::random_bf16(size_t(1100) * c.hidden, rng);
  x[size_t(7) * c.hidden + 100] = float_to_bf16(std::nanf(""));
  x[size_t(9) * c.hidden + 17] = float_to_bf16(INFINITY);
  const auto same = [&](const testing::Routing& routing, const std::string& label) {
    const auto xs = first_tokens(x, routing.num_tokens, c.hidden);
    const auto a = testing::run_forward(*fused, xs, routing), b = testing::run_forward(*kernel, xs, routing);
    ASSERT_EQ(a.size(), b.size());
    int differ = 0, nan = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const bool both_nan = std::isnan(bf16_to_float(a[i])) && std::isnan(bf16_to_float(b[i]));
      differ += !both_nan && a[i].bits != b[i].bits;
      nan += both_nan;
    }
    std::printf("  %-44s T=%-5d differ=%d nan=%d\n", label.c_str(), routing.num_tokens, differ, nan);
    EXPECT_EQ(differ, 0) << label << " T=" << routing.num_tokens;
    if (routing.num_tokens > 7) EXPECT_GT(nan, 0) << label << ": token 7's NaN must reach its outputs";
  };
  const auto route_token_7 = [&](testing::Routing& routing) {  // to local experts, so that its NaN shows
    for (int slot = 0; slot < c.top_k; ++slot) routing.ids[size_t(7) * c.top_k + slot] = c.local_expert_start + slot;
  };
  // The table keys on tokens * 3 / 8 local experts: 0.4 to 412 rows per expert; 1 and 5 tokens (3
  // and 15 pairs) run the decode kernels.
  for (int tokens : {1, 5, 8, 10, 37, 75, 110, 300, 700, 1100}) {
    auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
    testing::drop_some(routing, c, 0.1, rng);
    if (tokens > 7) route_token_7(routing);
    same(routing, "epilogue against kernel, uniform");
  }
  auto skewed = testing::skewed_routing(1100, c.num_experts, c.top_k, rng);
  route_token_7(skewed);
  same(skewed, "epilogue against kernel, skewed");
}

// A CUDA layer with one of the dispatch rules turned off (its FP4MOE_* variable 0) beside one with it
// on (the default), holding the same weights: each run must give the other's output bit for bit,
// NaNs included.
struct RuleOffTwin {
  MoeLayer& on;
  std::unique_ptr<MoeLayer> off;
  const char* rule;

  RuleOffTwin(MoeLayer& rule_on, const MoeConfig& c, const testing::RandomExperts& experts, const char* rule)
      : on(rule_on), rule(rule) {
    {
      ScopedEnv switched(rule, "0");
      off = make_moe_layer(c, Backend::kCuda);
    }
    experts.load_into(*off);
  }

  // Runs both and returns on's output.
  std::vector<bf16> same_output(const std::vector<bf16>& x, const testing::Routing& routing, const std::string& label) {
    const auto out = testing::run_forward(on, x, routing);
    EXPECT_EQ(differing_elements(out, testing::run_forward(*off, x, routing)), 0u)
        << label << " T=" << routing.num_tokens << ": outputs differ from the layer with " << rule << "=0";
    return out;
  }
};

// GEMM 1 finding its own tiles (moe/dispatch.h's gemm1_finds_own_tiles, Hopper) runs exactly the
// plan's tiles: the output is bit-identical to a layer with the rule off (FP4MOE_OWN_TILES=0) and
// within the reference's bound, in W4A16 (the rows from x before the plan's end) and in W4A4 with
// dynamic and calibrated scales (the rows from x's quantization, after the wait). 96 of 128 experts
// local, top-8, K and N off the tile grid, hidden wide enough (56 row blocks for GEMM 2) that the
// K-split tile, which has no own-tile form, is not chosen; batches past the decode kernels (24 pairs:
// the one-warp plan kernel) up to 480 pairs on the 8-token tile, uneven, with dropped and non-local
// ids, skewed, every token on one expert (eight 8-row tiles of it, the last half full), and no local
// pair at all (no tile: every CTA of GEMM 1 ends at once, and the output is zeros). Then
// qwen3-30b-a3b at 8 tokens with more tiles than the first wave that finds its own (every pair on
// an expert of its own), so that the later CTAs read the plan's list.
TEST(GpuLayer, OwnTilesAreThePlansTiles) {
  FP4MOE_REQUIRE_GPU();
  int device = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);  // its SMs are counted below
  if (!cuda::device_is_hopper(device)) GTEST_SKIP() << "GEMM 1 finds its own tiles on Hopper only";
  testing::Rng rng(38);
  constexpr int kMaxTokens = 60;
  for (Scales scales : {Scales::kNone, Scales::kDynamic, Scales::kCalibrated}) {
    const std::string m = name_of(scales);
    MoeConfig c = make_config(128, 3536, 208, 8, kMaxTokens);
    c.local_expert_start = 16;
    c.local_experts = 96;
    c.mode = mode_of(scales);
    LayerPair layers(c, 13);
    RuleOffTwin twin(*layers.gpu, c, layers.experts, "FP4MOE_OWN_TILES");
    if (scales == Scales::kCalibrated) {
      layers.set_input_scales(kCalibratedX, kCalibratedH);
      twin.off->set_input_scales(kCalibratedX, kCalibratedH);
    }
    const auto x = testing::random_bf16(size_t(kMaxTokens) * c.hidden, rng);

    const auto check = [&](const testing::Routing& routing, const std::string& label) {
      const int tokens = routing.num_tokens;
      EXPECT_TRUE(chosen_kernels(c, tokens).own_tiles)
          << label << " T=" << tokens << ": the rule must apply, or this test checks nothing";
      return twin.same_output(first_tokens(x, tokens, c.hidden), routing, label);
    };
    const auto error = [&](const std::vector<bf16>& rows, const testing::Routing& routing, const std::string& label) {
      return layers.error(rows, routing, label.c_str());
    };
    for (int tokens : {3, 20, 60}) {
      auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.2, rng);
      check(routing, m + ", uniform, dropped ids");
      EXPECT_LT(error(first_tokens(x, tokens, c.hidden), routing, m + ", own tiles, dropped ids"), kBound) << tokens;
    }
    const auto skewed = testing::skewed_routing(kMaxTokens, c.num_experts, c.top_k, rng);
    check(skewed, m + ", skewed");
    EXPECT_LT(error(x, skewed, m + ", own tiles, skewed"), kBound);
    const auto hot = testing::single_expert_routing(kMaxTokens, c.top_k, 40, rng);
    check(hot, m + ", every token on one expert");
    EXPECT_LT(error(x, hot, m + ", own tiles, every token on one expert"), kBound);
    testing::Routing none = testing::uniform_routing(30, c.num_experts, c.top_k, rng);
    for (size_t i = 0; i < none.ids.size(); ++i) none.ids[i] = i % 3 ? int32_t(i % 16) : (i % 2 ? -1 : 127);
    for (bf16 v : check(none, m + ", no local pair"))
      ASSERT_EQ(v.bits, 0) << m << ": tokens with no local expert must be zero";
  }

  // Only GEMM 1's first wave finds its own tiles; the later CTAs read the plan's list. qwen3-30b-a3b
  // at 8 tokens, each pair on an expert of its own: 64 tiles of 12 row blocks, more than a wave.
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    MoeConfig qwen3 = make_config(128, 2048, 768, 8, 8);
    qwen3.mode = mode;
    const testing::RandomExperts qwen3_experts(qwen3, 14);
    auto qwen3_own = make_moe_layer(qwen3, Backend::kCuda);
    qwen3_experts.load_into(*qwen3_own);
    RuleOffTwin qwen3_twin(*qwen3_own, qwen3, qwen3_experts, "FP4MOE_OWN_TILES");
    const cuda::ForwardKernels qwen3_kernels = chosen_kernels(qwen3, 8);
    ASSERT_TRUE(qwen3_kernels.own_tiles);
    EXPECT_GT(64 * ceil_div(gate_up_rows(qwen3), qwen3_kernels.gemm1.block_rows()),
              int64_t(cuda::device_sms(device)) * cuda::own_tile_ctas_per_sm(qwen3_kernels.gemm1))
        << "the tiles must take more than the wave that finds its own";
    testing::Routing spread = testing::uniform_routing(8, 128, 8, rng);
    for (size_t i = 0; i < spread.ids.size(); ++i) spread.ids[i] = int32_t(i * 37 % 128);  // 64 distinct experts
    const auto qwen3_x = testing::random_bf16(size_t(8) * qwen3.hidden, rng);
    const std::string m(to_string(mode));
    for (const auto& routing : {spread, testing::uniform_routing(8, 128, 8, rng)})
      qwen3_twin.same_output(qwen3_x, routing, m + ", qwen3, more tiles than a wave");
  }
}

// GEMM 1 reading x's rows copied in sorted order (moe/dispatch.h's gemm1_reads_sorted_rows: wgmma
// tiles, 12 or more row blocks, 24 or more rows per expert) gives the gathering GEMM 1's output bit for
// bit (FP4MOE_SORTED_ROWS=0), within the reference's bound, in both modes: 8 of 12 experts local, top-3,
// K and N off the tile grid (2944 padded gate/up rows: twelve row blocks, the last one half full), batches
// from the rule's line (64 tokens: 24 rows per expert) to about 260 rows per expert, dropped and non-local ids, a
// skewed batch, every token on one expert, no local pair, and a NaN and an Inf in x. With large tiles
// (both of GEMM 1's launches reading the sorted rows): LargeTilesOfSkewedBatches.
TEST(GpuLayer, SortedRowsEqualTheGather) {
  FP4MOE_REQUIRE_GPU();
  if (!on_hopper()) GTEST_SKIP() << "the sorted rows serve the wgmma tiles, Hopper only";
  testing::Rng rng(40);
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    MoeConfig c = make_config(12, 208, 1424, 3, 700);
    c.local_expert_start = 2;
    c.local_experts = 8;
    c.mode = mode;
    LayerPair layers(c, 15);
    RuleOffTwin twin(*layers.gpu, c, layers.experts, "FP4MOE_SORTED_ROWS");
    auto x = testing::random_bf16(size_t(700) * c.hidden, rng);
    const std::string m(to_string(mode));
    const auto check = [&](const testing::Routing& routing, const std::string& label) {
      const int tokens = routing.num_tokens;
      EXPECT_TRUE(chosen_kernels(c, tokens).sorted_rows)
          << label << " T=" << tokens << ": the rule must apply, or this test checks nothing";
      const auto xs = first_tokens(x, tokens, c.hidden);
      twin.same_output(xs, routing, m + " " + label);
      EXPECT_LT(layers.error(xs, routing, (m + " sorted rows, " + label).c_str()), kBound) << tokens;
    };
    for (int tokens : {64, 300, 700}) {
      auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.2, rng);
      check(routing, "uniform, dropped ids");
    }
    check(testing::skewed_routing(700, c.num_experts, c.top_k, rng), "skewed");
    check(testing::single_expert_routing(400, c.top_k, 5, rng), "every token on one expert");
    testing::Routing none = testing::uniform_routing(300, c.num_experts, c.top_k, rng);
    for (size_t i = 0; i < none.ids.size(); ++i) none.ids[i] = i % 2 ? -1 : 11;  // dropped, or another rank's
    EXPECT_TRUE(chosen_kernels(c, 300).sorted_rows);
    for (bf16 v : twin.same_output(first_tokens(x, 300, c.hidden), none, m + " no local pair"))
      ASSERT_EQ(v.bits, 0) << "tokens with no local expert must be zero";
    x[size_t(7) * c.hidden + 100] = float_to_bf16(std::nanf(""));
    x[size_t(9) * c.hidden + 17] = float_to_bf16(INFINITY);
    auto routing = testing::uniform_routing(300, c.num_experts, c.top_k, rng);
    for (int slot = 0; slot < c.top_k; ++slot) routing.ids[size_t(7) * c.top_k + slot] = c.local_expert_start + slot;
    const auto out = twin.same_output(first_tokens(x, 300, c.hidden), routing, m + " NaN and Inf in x");
    EXPECT_TRUE(std::isnan(bf16_to_float(out[size_t(7) * c.hidden]))) << "token 7's NaN must reach its output";
  }
}

// GEMM 2 in K slices (moe/dispatch.h's gemm2_splits_k, Hopper): where the rule takes a batch, the output is within
// the reference's bound and close to the layer with the rule off (the slices' partial sums are added in another
// order, so not bit for bit). 6 of 8 experts local, hidden off the tile grid, K = 8208 (past the rule's 8192, and
// not a whole number of K steps); uneven batches with dropped and non-local ids, skewed, every token on one expert;
// W4A16 and both W4A4 scalings; NaN in x reaching its row.
TEST(GpuLayer, GemmTwoInKSlices) {
  FP4MOE_REQUIRE_GPU();
  if (!on_hopper()) GTEST_SKIP() << "the split serves the one-tile wgmma kernel, Hopper only";
  testing::Rng rng(41);
  for (Scales scales : {Scales::kNone, Scales::kDynamic, Scales::kCalibrated}) {
    MoeConfig c = make_config(8, 208, 8208, 2, 120);
    c.local_expert_start = 1;
    c.local_experts = 6;
    c.mode = mode_of(scales);
    LayerPair layers(c, 16, ScaleLayout::kLinear, /*with_bias=*/true);
    RuleOffTwin twin(*layers.gpu, c, layers.experts, "FP4MOE_GEMM2_K_SPLIT");
    if (scales == Scales::kCalibrated) {
      layers.set_input_scales(3.0f / 2688.0f, 2.0f / 2688.0f);
      twin.off->set_input_scales(3.0f / 2688.0f, 2.0f / 2688.0f);
    }
    auto x = testing::random_bf16(size_t(120) * c.hidden, rng);
    const std::string m = name_of(scales);
    const auto check = [&](const testing::Routing& routing, const std::string& label) {
      const int tokens = routing.num_tokens;
      EXPECT_EQ(chosen_kernels(c, tokens).gemm2_k_slices, cuda::kGemm2KSlices)
          << label << " T=" << tokens << ": the rule must apply, or this test checks nothing";
      const auto xs = first_tokens(x, tokens, c.hidden);
      const auto on = testing::run_forward(*layers.gpu, xs, routing);
      const auto off = testing::run_forward(*twin.off, xs, routing);
      const double apart = testing::rel_error(on, testing::to_double(off));
      EXPECT_LT(apart, 4e-3) << label << ": split and whole K differ by more than BF16 rounding";
      EXPECT_LT(layers.error(xs, routing, (m + " GEMM 2 in K slices, " + label).c_str()), kBound) << tokens;
      return on;
    };
    for (int tokens : {40, 101, 120}) {  // from 160 tokens GEMM 2 runs persistent
      auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.2, rng);
      check(routing, "uniform, dropped ids");
    }
    check(testing::skewed_routing(120, c.num_experts, c.top_k, rng), "skewed");
    check(testing::single_expert_routing(100, c.top_k, 3, rng), "every token on one expert");
    x[size_t(7) * c.hidden + 100] = float_to_bf16(std::nanf(""));
    auto routing = testing::uniform_routing(100, c.num_experts, c.top_k, rng);
    routing.ids[size_t(7) * c.top_k] = c.local_expert_start;
    const auto out = testing::run_forward(*layers.gpu, first_tokens(x, 100, c.hidden), routing);
    EXPECT_TRUE(std::isnan(bf16_to_float(out[size_t(7) * c.hidden]))) << m << ": token 7's NaN must reach its output";
  }
}

// y kept in L2 (moe/dispatch.h's y_stays_in_l2): the weights' evict-first copies and the combine's discard of y's
// lines change no bit of the output (against the layer with FP4MOE_Y_IN_L2=0) and keep it within the reference's
// bound. The forwards of each config share one workspace and run one after another, so each starts from the y
// that the one before discarded. Configs in W4A16 and dynamic W4A4 (whose h's quantization kernel also drops
// GEMM 1's FP32 h as it reads it): widths multiples of 32 (whole 128-byte lines: the combine discards y, and the
// W4A4 h's kernel h) and widths off it (16 more: evict-first copies only); 6 of 8 experts local; batches on the
// mma.sync and the 32-, 48- and 64-token wgmma tiles (the 128-token tile never takes the policy), uneven, with
// dropped and non-local ids, skewed, every token on one expert, NaN and Inf in x.
TEST(GpuLayer, YInL2EqualsTheRuleOff) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(42);
  struct Widths {
    QuantMode mode;
    int hidden, intermediate;
  };
  const Widths configs[] = {{QuantMode::kW4A16, 224, 256}, {QuantMode::kW4A16, 240, 256},
                            {QuantMode::kW4A4, 224, 256},  {QuantMode::kW4A4, 240, 240}};
  for (const auto [mode, hidden, intermediate] : configs) {
    MoeConfig c = make_config(8, hidden, intermediate, 2, 400, Activation::kSilu, mode);
    c.local_expert_start = 1;
    c.local_experts = 6;
    LayerPair layers(c, 17);
    RuleOffTwin twin(*layers.gpu, c, layers.experts, "FP4MOE_Y_IN_L2");
    const Buffer on_workspace = testing::poisoned_workspace(*layers.gpu, 400),
                 off_workspace = testing::poisoned_workspace(*twin.off, 400);
    auto x = testing::random_bf16(size_t(400) * c.hidden, rng);
    x[size_t(7) * c.hidden + 100] = float_to_bf16(std::nanf(""));
    x[size_t(9) * c.hidden + 17] = float_to_bf16(INFINITY);
    int wgmma_batches = 0;
    const auto check = [&](testing::Routing routing, const std::string& batch) {
      const int tokens = routing.num_tokens;
      const std::string label = std::string(to_string(mode)) + " H=" + std::to_string(hidden) + " I=" +
                                std::to_string(intermediate) + ", " + batch;
      for (int slot = 0; slot < c.top_k; ++slot) routing.ids[size_t(7) * c.top_k + slot] = c.local_expert_start + slot;
      const cuda::ForwardKernels k = chosen_kernels(c, tokens);
      EXPECT_TRUE(k.y_in_l2) << label << " T=" << tokens << ": the rule must apply, or this test checks nothing";
      wgmma_batches += k.gemm2.wgmma && k.gemm2.block_tokens < 128;
      const auto xs = first_tokens(x, tokens, c.hidden);
      const auto on = testing::run_forward(*layers.gpu, xs, routing, on_workspace);
      EXPECT_EQ(differing_elements(on, testing::run_forward(*twin.off, xs, routing, off_workspace)), 0u)
          << label << " T=" << tokens << ": outputs differ from the layer with FP4MOE_Y_IN_L2=0";
      EXPECT_TRUE(std::isnan(bf16_to_float(on[size_t(7) * c.hidden]))) << label << ": token 7's NaN must show";
      const std::string named = "y in L2, " + label;
      auto finite = xs;
      for (bf16& v : finite) v = std::isfinite(bf16_to_float(v)) ? v : float_to_bf16(0.5f);
      EXPECT_LT(layers.error(finite, routing, named.c_str()), kBound) << tokens;
    };
    for (int tokens : {40, 100, 150, 230, 400}) {
      auto routing = testing::uniform_routing(tokens, c.num_experts, c.top_k, rng);
      testing::drop_some(routing, c, 0.2, rng);
      check(routing, "uniform, dropped ids");
    }
    check(testing::skewed_routing(400, c.num_experts, c.top_k, rng), "skewed");
    check(testing::single_expert_routing(300, c.top_k, 3, rng), "every token on one expert");
    if (on_hopper()) EXPECT_GT(wgmma_batches, 0) << "no batch ran a wgmma tile that takes the policy";
  }
}

// GEMMs held to one CTA fewer an SM a little past one wave (moe/dispatch.h's ctas_per_sm_for_waves; their shared memory
// padded, common/launch.h's capped_smem_bytes) give the output of the layer with the rule off (FP4MOE_FEWER_CTAS=0) bit
// for bit, within the reference's bound. The K-split tile at three an SM, W4A16 and dynamic W4A4: the decode kernels'
// GEMM 1 (64/1024/1536/8 at two tokens) and both grouped GEMMs (64/2304/1152/8 at three). In dynamic W4A4, where the
// GEMMs do not overlap: the unsplit 8-token tile at seven, both GEMMs (32/3072/2048/8 at seven), and the two-m-tile
// tile at four, GEMM 1 finding its own tiles (16/2048/3072/8 at twelve). Beside the tile hand-off (W4A16, calibrated
// W4A4: GEMM 1 quantizing h), GEMM 1 on K of at least 4352, finding its own tiles: the unsplit tile at seven
// (24/5120/2048/8 at five), the two-m-tile tile at four (24/4608/2048/8 at sixteen). Uniform with dropped and non-local
// ids, skewed, and every token on one expert; the first also run before the twin is created.
TEST(GpuLayer, FewerCtasPerSmEqualsTheRuleOff) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(43);
  struct Case {
    std::vector<Scales> scalings;
    int experts, hidden, intermediate, tokens;
    bool decode, own_tiles;
    int gemm1_ctas_per_sm, gemm2_ctas_per_sm;
  };
  const std::vector<Scales> both = {Scales::kNone, Scales::kDynamic}, dynamic = {Scales::kDynamic},
                            beside = {Scales::kNone, Scales::kCalibrated};
  const bool hopper = on_hopper();
  for (const Case& cs : {Case{both, 64, 1024, 1536, 2, true, false, 3, 0},
                         Case{both, 64, 2304, 1152, 3, false, false, 3, 3},
                         Case{dynamic, 32, 3072, 2048, 7, false, false, 7, 7},
                         Case{dynamic, 16, 2048, 3072, 12, false, true, 4, 0},
                         Case{beside, 24, 5120, 2048, 5, false, true, 7, 0},
                         Case{beside, 24, 4608, 2048, 16, false, true, 4, 0}}) {
    for (Scales scales : cs.scalings) {
      const MoeConfig c =
          make_config(cs.experts, cs.hidden, cs.intermediate, 8, cs.tokens, Activation::kSilu, mode_of(scales));
      LayerPair layers(c, 19);
      const bool calibrated = scales == Scales::kCalibrated;
      if (calibrated) layers.set_input_scales(kCalibratedX, kCalibratedH);
      const auto x = testing::random_bf16(size_t(cs.tokens) * c.hidden, rng);
      const auto routings = uniform_skewed_one_expert(c, cs.tokens, 5, rng);
      // A capped launch before the twin's creation, which sets the kernels' shared-memory limits again: the limits
      // the capped launches raised (and capped_smem_bytes keeps) must hold for the forwards after it.
      const auto before_twin = testing::run_forward(*layers.gpu, x, routings.front().second);
      RuleOffTwin twin(*layers.gpu, c, layers.experts, "FP4MOE_FEWER_CTAS");
      if (calibrated) twin.off->set_input_scales(kCalibratedX, kCalibratedH);
      const std::string label = std::string(name_of(scales)) + " E=" + std::to_string(cs.experts) +
                                " H=" + std::to_string(cs.hidden) + " I=" + std::to_string(cs.intermediate) +
                                " T=" + std::to_string(cs.tokens);
      if (hopper) {
        const cuda::ForwardKernels k = chosen_kernels(c, cs.tokens, calibrated);
        EXPECT_EQ(k.decode_kernels, cs.decode) << label;
        EXPECT_EQ(k.own_tiles, cs.own_tiles) << label;
        EXPECT_EQ(k.gemm1_ctas_per_sm, cs.gemm1_ctas_per_sm)
            << label << ": the rule must apply, or this test checks nothing";
        EXPECT_EQ(k.gemm2_ctas_per_sm, cs.gemm2_ctas_per_sm) << label;
      }
      for (const auto& [kind, routing] : routings) {
        const std::string named = "fewer CTAs, " + label + ", " + kind;
        const auto out = twin.same_output(x, routing, named);
        if (&routing == &routings.front().second)
          EXPECT_EQ(differing_elements(out, before_twin), 0u) << named << ": differs from the run before the twin";
        EXPECT_LT(layers.error(x, routing, named.c_str()), kBound) << named;
      }
    }
  }
}

TEST(GpuLayer, NaNInputShowsAsNaN) {
  FP4MOE_REQUIRE_GPU();
  testing::Rng rng(35);
  for (QuantMode mode : {QuantMode::kW4A16, QuantMode::kW4A4}) {
    MoeConfig c = make_config(4, 64, 128, 1, 8, Activation::kSilu, mode);
    LayerPair layers(c, 3);
    auto x = testing::random_bf16(size_t(8) * c.hidden, rng);
    x[3 * c.hidden + 5] = float_to_bf16(std::nanf(""));
    testing::Routing routing = testing::uniform_routing(8, 4, 1, rng);
    const auto row_has_nan = [&](const std::vector<bf16>& out, int t) {
      bool nan = false;
      for (int n = 0; n < c.hidden; ++n) nan |= std::isnan(bf16_to_float(out[size_t(t) * c.hidden + n]));
      return nan;
    };
    const auto out = testing::run_forward(*layers.gpu, x, routing);
    for (int t = 0; t < 8; ++t) {
      // W4A16: only the NaN token. W4A4 with a dynamic amax: the NaN amax poisons every token.
      EXPECT_EQ(row_has_nan(out, t), t == 3 || mode == QuantMode::kW4A4) << to_string(mode) << " token " << t;
    }
    if (mode == QuantMode::kW4A16) continue;
    // W4A4 with calibrated scales: only the NaN token's blocks, then its h (at these batches quantized
    // by its kernel after GEMM 1; moe/dispatch.h).
    layers.set_input_scales(kCalibratedX, kCalibratedH);
    for (int tokens : {1, 8}) {
      testing::Routing first = routing;
      first.num_tokens = tokens;
      first.ids.resize(size_t(tokens) * c.top_k);
      first.weights.resize(size_t(tokens) * c.top_k);
      std::vector<bf16> xs = first_tokens(x, tokens, c.hidden);
      if (tokens == 1) xs[5] = float_to_bf16(std::nanf(""));
      const auto calibrated = testing::run_forward(*layers.gpu, xs, first);
      for (int t = 0; t < tokens; ++t)
        EXPECT_EQ(row_has_nan(calibrated, t), tokens == 1 || t == 3)
            << "w4a4 calibrated, T=" << tokens << " token " << t;
    }
  }
}

TEST(GpuLayer, BadArgumentsAreRejectedWithClearMessages) {
  FP4MOE_REQUIRE_GPU();
  MoeConfig c = make_config(4, 64, 128, 2, 8);
  auto layer = make_moe_layer(c, Backend::kCuda);
  testing::RandomExperts experts(c, 1);
  Buffer ws(Backend::kCuda, layer->workspace_bytes(8));
  Buffer x(Backend::kCuda, 8 * 64 * 2), ids(Backend::kCuda, 8 * 2 * 4), w(Backend::kCuda, 8 * 2 * 4),
      out(Backend::kCuda, 8 * 64 * 2);
  ForwardArgs args{8, static_cast<bf16*>(x.data()), static_cast<int32_t*>(ids.data()), static_cast<float*>(w.data()),
                   static_cast<bf16*>(out.data())};
  testing::expect_error([&] { layer->forward(args, ws.data(), ws.size(), nullptr); },
                        "fp4moe: forward: experts: expected every local expert loaded with load_expert() first, got "
                        "local expert 0 not loaded");
  experts.load_into(*layer);
  testing::expect_error([&] { layer->load_expert(4, experts.view(0).view); },
                        "fp4moe: load_expert: local_expert: expected 0..num_local_experts - 1 (3), got 4");
  ForwardArgs too_many = args;
  too_many.num_tokens = 9;
  testing::expect_error([&] { layer->forward(too_many, ws.data(), ws.size(), nullptr); },
                        "fp4moe: forward: args.num_tokens: expected 0..max_tokens (8), got 9");
  ForwardArgs null_x = args;
  null_x.x = nullptr;
  testing::expect_error([&] { layer->forward(null_x, ws.data(), ws.size(), nullptr); },
                        "fp4moe: forward: args.x: expected a non-null device pointer, got null");
  ForwardArgs misaligned = args;
  misaligned.out = reinterpret_cast<bf16*>(static_cast<char*>(out.data()) + 2);
  testing::expect_error([&] { layer->forward(misaligned, ws.data(), ws.size(), nullptr); },
                        "fp4moe: forward: args.out: expected a 16-byte aligned pointer");
  testing::expect_error([&] { layer->forward(args, ws.data(), 100, nullptr); },
                        "fp4moe: forward: workspace_size: expected at least workspace_bytes(num_tokens) = ");
  auto bad = experts.view(0);
  bad.view.up.scale_2 = -1.0f;
  testing::expect_error([&] { layer->load_expert(0, bad.view); },
                        "expert 0 up.scale_2: expected a finite positive weight_scale_2");
  testing::expect_error(
      [&] { layer->set_input_scales(std::nanf(""), 0); },
      "fp4moe: set_input_scales: gemm1_input_scale: expected 0 (dynamic) or a finite positive input_scale");
  auto nan_scale = experts.view(1);
  std::vector<uint8_t> bad_scales(nan_scale.view.down.scales, nan_scale.view.down.scales + 64 * 128 / 16);
  bad_scales[77] = 0x7F;  // E4M3 NaN: a corrupt checkpoint
  nan_scale.view.down.scales = bad_scales.data();
  testing::expect_error([&] { layer->load_expert(1, nan_scale.view); },
                        "fp4moe: load_expert: expert 1 down.scales: expected E4M3 block scales >= 0 and not NaN, got a "
                        "NaN or negative scale");
  testing::expect_error([&] { make_moe_layer(make_config(72, 64, 128, 65, 8), Backend::kCuda); },
                        "fp4moe: make_moe_layer: config.top_k: expected at most 64 on the CUDA backend, got 65");
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  BackendOptions absent;
  absent.cuda_device = devices;  // one past the last visible device
  testing::expect_error([&] { make_moe_layer(c, Backend::kCuda, absent); },
                        "fp4moe: make_moe_layer: options.cuda_device: expected -1 (the current device) or one of the " +
                            std::to_string(devices) + " visible devices, 0.." + std::to_string(devices - 1) +
                            ", got " + std::to_string(devices));
}

}  // namespace
}  // namespace fp4moe
