// route_on_device against the host's route() on random logits: the same ids in the same order and
// weights within a few ulps, for each method at expert counts around the warp's width and up to the
// device limit, k from 1 to every expert, with -inf masks and quantized logits (exact ties); rows the
// host would reject turn NaN on the device; 0 tokens write nothing. The argument checks run on the
// CPU (tests/routing/test_routing.cpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/rng.h"
#include "fp4moe/routing/routing.h"
#include "gpu_test.h"

namespace fp4moe {
namespace {

struct Case {
  const char* name;
  int tokens, experts;
  RoutingParams params;
  bool ties = false;  // logits on a grid of 1/4: many exact ties
};

RoutingParams softmax(int k, bool renormalize) {
  RoutingParams p;
  p.top_k = k;
  p.renormalize = renormalize;
  return p;
}

RoutingParams topk_softmax(int k) {
  RoutingParams p;
  p.method = RoutingMethod::kTopkSoftmax;
  p.top_k = k;
  return p;
}

RoutingParams topk_sigmoid(int k) {
  RoutingParams p;
  p.method = RoutingMethod::kTopkSigmoid;
  p.top_k = k;
  return p;
}

RoutingParams grouped(int k, int groups, int kept, float scale) {
  RoutingParams p;
  p.method = RoutingMethod::kSigmoidGroupedTopk;
  p.top_k = k;
  p.num_groups = groups;
  p.topk_group = kept;
  p.routed_scaling_factor = scale;
  return p;
}

std::vector<float> random_logits(int tokens, int experts, bool ties, uint64_t seed) {
  testing::Rng rng(seed);
  std::vector<float> logits(size_t(tokens) * experts);
  for (float& l : logits) {
    const double v = rng.normal() * 3;
    l = float(ties ? std::round(v * 4) / 4 : v);
    if (rng.below(16) == 0) l = -INFINITY;  // a masked expert
  }
  for (int t = 0; t < tokens; ++t) logits[size_t(t) * experts + size_t(rng.below(experts))] = 0.5f;  // one finite
  return logits;
}

struct Routed {
  std::vector<int32_t> ids;
  std::vector<float> weights;
};

// route_on_device on the default stream, its outputs poisoned (0xEE bytes) before.
Routed route_device(const std::vector<float>& logits, int tokens, int experts, RoutingParams p,
                    const std::vector<float>& bias = {}) {
  const size_t n = size_t(tokens) * p.top_k;
  Buffer d_logits = Buffer::copy_of(Backend::kCuda, logits.empty() ? std::vector<float>(1) : logits);
  Buffer d_bias = Buffer::copy_of(Backend::kCuda, bias.empty() ? std::vector<float>(1) : bias);
  Buffer ids(Backend::kCuda, std::max<size_t>(n, 1) * sizeof(int32_t)),
      weights(Backend::kCuda, std::max<size_t>(n, 1) * sizeof(float));
  ids.fill(0xEE);
  weights.fill(0xEE);
  if (!bias.empty()) p.correction_bias = static_cast<const float*>(d_bias.data());
  route_on_device(static_cast<const float*>(d_logits.data()), tokens, experts, p, static_cast<int32_t*>(ids.data()),
                  static_cast<float*>(weights.data()), nullptr);
  testing::sync_device();
  return {ids.to_vector<int32_t>(std::max<size_t>(n, 1)), weights.to_vector<float>(std::max<size_t>(n, 1))};
}

Routed route_host(const std::vector<float>& logits, int tokens, int experts, RoutingParams p,
                  const std::vector<float>& bias = {}) {
  const size_t n = size_t(tokens) * p.top_k;
  Routed r{std::vector<int32_t>(n), std::vector<float>(n)};
  if (!bias.empty()) p.correction_bias = bias.data();
  route(logits.data(), tokens, experts, p, r.ids.data(), r.weights.data());
  return r;
}

// The device's exponentials may round differently from the host's on rare ties: a few ulps.
void expect_weights_near(float got, float want, const std::string& where) {
  EXPECT_NEAR(got, want, 4e-7 * std::fabs(want) + 1e-30f) << where;
}

TEST(GpuRoute, MatchesTheHostOnRandomLogits) {
  FP4MOE_REQUIRE_GPU();
  const std::vector<Case> cases = {
      {"softmax one token", 1, 8, softmax(2, false)},
      {"softmax qwen3", 300, 128, softmax(8, true)},
      {"softmax ties", 200, 60, softmax(6, false), true},
      {"softmax 1000 experts", 37, 1000, softmax(64, true)},
      {"softmax every expert", 5, 1024, softmax(1024, false)},
      {"softmax 33 experts", 70, 33, softmax(33, true), true},
      {"topk_softmax gpt-oss", 300, 128, topk_softmax(4)},
      {"topk_softmax ties", 200, 40, topk_softmax(5), true},
      {"topk_softmax one expert", 9, 1, topk_softmax(1)},
      {"topk_sigmoid llama4-scout", 300, 16, topk_sigmoid(1)},
      {"topk_sigmoid llama4-maverick", 200, 128, topk_sigmoid(1), true},
      {"topk_sigmoid k=7 of 1000", 40, 1000, topk_sigmoid(7)},
      {"grouped deepseek", 300, 256, grouped(8, 8, 4, 2.5f)},
      {"grouped ties", 200, 96, grouped(6, 12, 5, 1.0f), true},
      {"grouped groups of one", 100, 64, grouped(6, 64, 10, 1.5f)},
      {"grouped one group kept", 50, 96, grouped(32, 3, 1, 1.0f)},
      {"grouped 1024 experts", 20, 1024, grouped(16, 32, 4, 2.0f)},
  };
  uint64_t seed = 1;
  for (const Case& c : cases) {
    const std::vector<float> logits = random_logits(c.tokens, c.experts, c.ties, seed++);
    std::vector<float> bias;
    if (c.params.method == RoutingMethod::kSigmoidGroupedTopk) {
      testing::Rng rng(seed++);
      for (int e = 0; e < c.experts; ++e) bias.push_back(float(rng.uniform(-0.3, 0.3)));
    }
    const Routed want = route_host(logits, c.tokens, c.experts, c.params, bias);
    const Routed got = route_device(logits, c.tokens, c.experts, c.params, bias);
    for (size_t i = 0; i < want.ids.size(); ++i) {
      const std::string where = std::string(c.name) + ", token " + std::to_string(i / c.params.top_k) + " slot " +
                                std::to_string(i % c.params.top_k);
      ASSERT_EQ(got.ids[i], want.ids[i]) << where;
      expect_weights_near(got.weights[i], want.weights[i], where);
    }
  }
}

// The grouped method without a correction bias.
TEST(GpuRoute, GroupedWithoutBias) {
  FP4MOE_REQUIRE_GPU();
  const std::vector<float> logits = random_logits(64, 256, false, 40);
  const RoutingParams p = grouped(8, 8, 4, 1.0f);
  const Routed want = route_host(logits, 64, 256, p), got = route_device(logits, 64, 256, p);
  EXPECT_EQ(got.ids, want.ids);
  for (size_t i = 0; i < want.weights.size(); ++i)
    expect_weights_near(got.weights[i], want.weights[i], "slot " + std::to_string(i));
}

// Rows the host rejects (NaN, +inf, only -inf) get NaN weights and the ids 0..k-1 on the device;
// the rows around them are routed as the host routes them; a non-finite bias spoils every row.
TEST(GpuRoute, RowsTheHostRejectsTurnNaN) {
  FP4MOE_REQUIRE_GPU();
  const int T = 6, E = 40;
  for (const RoutingParams& p : {softmax(3, true), topk_softmax(3), grouped(3, 4, 2, 1.0f), topk_sigmoid(3)}) {
    std::vector<float> logits = random_logits(T, E, false, 50);
    logits[1 * E + 7] = NAN;
    logits[3 * E + 39] = INFINITY;
    for (int e = 0; e < E; ++e) logits[size_t(4 * E + e)] = -INFINITY;
    const Routed got = route_device(logits, T, E, p);
    for (int t = 0; t < T; ++t) {
      const bool bad = t == 1 || t == 3 || t == 4;
      const std::vector<float> row(logits.begin() + t * E, logits.begin() + (t + 1) * E);
      const Routed want = bad ? Routed{} : route_host(row, 1, E, p);
      for (int j = 0; j < 3; ++j) {
        const std::string where = std::string(to_string(p.method)) + ", token " + std::to_string(t);
        if (bad) {
          EXPECT_EQ(got.ids[size_t(t * 3 + j)], j) << where;
          EXPECT_TRUE(std::isnan(got.weights[size_t(t * 3 + j)])) << where;
        } else {
          EXPECT_EQ(got.ids[size_t(t * 3 + j)], want.ids[size_t(j)]) << where;
          expect_weights_near(got.weights[size_t(t * 3 + j)], want.weights[size_t(j)], where);
        }
      }
    }
  }
  std::vector<float> bias(E, 0.1f);
  bias[5] = NAN;
  const Routed spoiled = route_device(random_logits(T, E, false, 51), T, E, grouped(3, 4, 2, 1.0f), bias);
  for (size_t i = 0; i < spoiled.weights.size(); ++i) {
    EXPECT_EQ(spoiled.ids[i], int(i % 3));
    EXPECT_TRUE(std::isnan(spoiled.weights[i])) << "slot " << i;
  }
}

TEST(GpuRoute, ZeroTokensWriteNothing) {
  FP4MOE_REQUIRE_GPU();
  Buffer ids(Backend::kCuda, 16), weights(Backend::kCuda, 16);
  ids.fill(0xEE);
  weights.fill(0xEE);
  route_on_device(nullptr, 0, 8, softmax(2, false), static_cast<int32_t*>(ids.data()),
                  static_cast<float*>(weights.data()), nullptr);
  testing::sync_device();
  for (int32_t v : ids.to_vector<int32_t>(4)) EXPECT_EQ(uint32_t(v), 0xEEEEEEEEu);
}

}  // namespace
}  // namespace fp4moe
