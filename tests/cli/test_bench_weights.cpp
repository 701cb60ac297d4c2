// `fp4moe bench`'s weights without a GPU: the pool's rotation over copies and its value ranges, and
// W4A4's calibrated input scales against a direct per-(token, expert) computation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "cli/bench_weights.h"
#include "fp4moe/format/quantize.h"

namespace fp4moe::cli {
namespace {

const BenchShape kSmall{"small", 8, 32, 16, 2};

MoeConfig small_config() { return layer_config(kSmall, QuantMode::kW4A4, 16); }

TEST(BenchWeights, CopiesRotateOverThePoolEntries) {
  const ExpertPool pool(kSmall, 7);
  std::set<const uint8_t*> entries;
  for (int e = 0; e < ExpertPool::kSize; ++e) entries.insert(pool.view(e, 0).gate.packed);
  EXPECT_EQ(entries.size(), size_t(ExpertPool::kSize)) << "distinct weights per entry";
  for (int copy = 0; copy < 3; ++copy)
    for (int e = 0; e < kSmall.experts; ++e) {
      EXPECT_EQ(pool.view(e, copy).gate.packed, pool.view((e + copy) % ExpertPool::kSize, 0).gate.packed);
      EXPECT_EQ(ExpertPool::entry(e, copy), (e + copy) % ExpertPool::kSize);
    }
  EXPECT_NE(pool.view(0, 0).gate.packed, pool.view(0, 1).gate.packed) << "copy 1's expert 0 is another entry";
}

TEST(BenchWeights, ValuesFollowTheTorchBenchmarksRanges) {
  const ExpertPool pool(kSmall, 7), again(kSmall, 7), other(kSmall, 8);
  const size_t codes = size_t(kSmall.hidden) * kSmall.intermediate / 2, blocks = codes * 2 / 16;
  for (int e = 0; e < ExpertPool::kSize; ++e) {
    const ExpertWeightsView w = pool.view(e, 0);
    for (const Nvfp4WeightView* m : {&w.gate, &w.up, &w.down}) {
      EXPECT_GE(m->scale_2, 1e-3f);
      EXPECT_LE(m->scale_2, 1e-2f);
      for (size_t b = 0; b < blocks; ++b) {
        EXPECT_GE(m->scales[b] >> 3, 4) << "block scale at least 2^-3";
        EXPECT_LE(m->scales[b] >> 3, 9) << "block scale at most 7.5";
      }
    }
  }
  const auto bytes = [&](const ExpertPool& p) {
    const Nvfp4WeightView g = p.view(1, 0).gate;
    return std::vector<uint8_t>(g.packed, g.packed + codes);
  };
  EXPECT_EQ(bytes(pool), bytes(again)) << "seeded";
  EXPECT_NE(bytes(pool), bytes(other));
}

// max over routed (token, expert) pairs of |silu(g) * u|, g and u in double from the dequantized
// weights of copy 0's expert, plus its biases where the pool has them.
float direct_h_amax(const ExpertPool& pool, const std::vector<float>& x, const std::vector<int32_t>& ids,
                    int tokens) {
  const int h = kSmall.hidden, inter = kSmall.intermediate;
  double best = 0.0;
  for (int t = 0; t < tokens; ++t)
    for (int k = 0; k < kSmall.top_k; ++k) {
      const int e = ids[size_t(t * kSmall.top_k + k)];
      if (e < 0 || e >= kSmall.experts) continue;
      const ExpertWeightsView w = pool.view(e, 0);
      std::vector<float> gate(size_t(inter * h)), up(size_t(inter * h));
      dequantize_nvfp4(w.gate.packed, w.gate.scales, inter, h, w.gate.scale_layout, w.gate.scale_2, gate.data());
      dequantize_nvfp4(w.up.packed, w.up.scales, inter, h, w.up.scale_layout, w.up.scale_2, up.data());
      for (int i = 0; i < inter; ++i) {
        double g = 0.0, u = 0.0;
        for (int j = 0; j < h; ++j) {
          g += double(gate[size_t(i * h + j)]) * x[size_t(t * h + j)];
          u += double(up[size_t(i * h + j)]) * x[size_t(t * h + j)];
        }
        if (w.gate.bias) g += w.gate.bias[i];
        if (w.up.bias) u += w.up.bias[i];
        best = std::max(best, std::fabs(g / (1.0 + std::exp(-g)) * u));
      }
    }
  return float(best);
}

TEST(BenchWeights, CalibratedScalesAreTheAmaxesOverRoutedTokens) {
  const ExpertPool pool(kSmall, 11);
  const int tokens = 6;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<bf16> x(size_t(tokens) * kSmall.hidden);
  for (bf16& v : x) v = float_to_bf16(normal(rng) * 20.0f);
  // Token 5 is the largest and routed nowhere (ids outside the experts): it sets x's amax, not h's.
  for (int j = 0; j < kSmall.hidden; ++j) x[size_t(5 * kSmall.hidden + j)] = float_to_bf16(j % 2 ? 900.0f : -900.0f);
  const std::vector<int32_t> ids = {0, 5, 3, -1, 7, 2, 1, 4, 6, 6, -1, 99};
  std::vector<float> xf(x.size());
  for (size_t i = 0; i < x.size(); ++i) xf[i] = bf16_to_float(x[i]);

  const InputScales s = calibrate_input_scales(pool, small_config(), x, ids, tokens);
  EXPECT_EQ(s.gemm1, 900.0f / 2688.0f);
  const float want = direct_h_amax(pool, xf, ids, tokens);
  ASSERT_GT(want, 0.0f);
  EXPECT_NEAR(s.gemm2, want / 2688.0f, 1e-6 * want / 2688.0f);

  // Only the sample's first tokens count: the first two leave out experts 6 and 1, 4 and the rest.
  const InputScales two = calibrate_input_scales(pool, small_config(), x, ids, 2);
  float x_amax_two = 0.0f;
  for (int i = 0; i < 2 * kSmall.hidden; ++i) x_amax_two = std::max(x_amax_two, std::fabs(xf[size_t(i)]));
  EXPECT_EQ(two.gemm1, x_amax_two / 2688.0f);
  const float want_two = direct_h_amax(pool, xf, ids, 2);
  EXPECT_NEAR(two.gemm2, want_two / 2688.0f, 1e-6 * want_two / 2688.0f);
  EXPECT_LT(two.gemm2, s.gemm2 * (1 - 1e-6f)) << "fewer tokens, a smaller amax (here)";
}

// `--bias on`: every projection of every entry has a bias in [-0.5, 0.5), and the calibrated
// intermediate scale counts it, as the layer adds it before the activation.
TEST(BenchWeights, BiasedPoolCalibratesWithItsBiases) {
  const ExpertPool plain(kSmall, 11), pool(kSmall, 11, true);
  EXPECT_EQ(plain.view(0, 0).gate.bias, nullptr);
  for (int e = 0; e < ExpertPool::kSize; ++e) {
    const ExpertWeightsView w = pool.view(e, 0);
    const std::pair<const Nvfp4WeightView*, int> matrices[] = {
        {&w.gate, kSmall.intermediate}, {&w.up, kSmall.intermediate}, {&w.down, kSmall.hidden}};
    for (const auto& [m, rows] : matrices) {
      ASSERT_NE(m->bias, nullptr);
      for (int r = 0; r < rows; ++r) {
        EXPECT_GE(m->bias[r], -0.5f);
        EXPECT_LT(m->bias[r], 0.5f);
      }
    }
  }
  std::mt19937_64 rng(4);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int tokens = 4;
  std::vector<bf16> x(size_t(tokens) * kSmall.hidden);
  std::vector<float> xf(x.size());
  for (size_t i = 0; i < x.size(); ++i) xf[i] = bf16_to_float(x[i] = float_to_bf16(normal(rng) * 20.0f));
  const std::vector<int32_t> ids = {0, 5, 3, 1, 7, 2, 6, 4};
  const InputScales s = calibrate_input_scales(pool, small_config(), x, ids, tokens);
  const float want = direct_h_amax(pool, xf, ids, tokens);
  EXPECT_NEAR(s.gemm2, want / 2688.0f, 1e-6 * want / 2688.0f);
  EXPECT_NE(s.gemm2, calibrate_input_scales(plain, small_config(), x, ids, tokens).gemm2);
}

TEST(BenchWeights, NoRoutedTokenGivesAZeroIntermediateScale) {
  const ExpertPool pool(kSmall, 11);
  const std::vector<bf16> x(size_t(2) * kSmall.hidden, float_to_bf16(1.5f));
  const InputScales s = calibrate_input_scales(pool, small_config(), x, {-1, -1, 8, -3}, 2);
  EXPECT_EQ(s.gemm1, 1.5f / 2688.0f);
  EXPECT_EQ(s.gemm2, 0.0f);
}

}  // namespace
}  // namespace fp4moe::cli
