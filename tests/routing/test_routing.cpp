// Routing helpers of spec section 5 and Llama-4's topk_sigmoid: hand-computed cases, ties toward the
// lower expert id, agreement with a sort-based implementation written here on random logits, and
// argument errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "common/expect_error.h"
#include "common/rng.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe {
namespace {

using testing::expect_error;

struct Routed {
  std::vector<int32_t> ids;
  std::vector<float> weights;
};

Routed run(const std::vector<float>& logits, int num_experts, const RoutingParams& p) {
  const int T = int(logits.size()) / num_experts;
  Routed r{std::vector<int32_t>(size_t(T * p.top_k), -7), std::vector<float>(size_t(T * p.top_k), NAN)};
  route(logits.data(), T, num_experts, p, r.ids.data(), r.weights.data());
  return r;
}

// The k best indices of `score` among `allowed`, by (score desc, index asc), using a full sort.
std::vector<int> sorted_top_k(const std::vector<double>& score, std::vector<int> allowed, int k) {
  std::stable_sort(allowed.begin(), allowed.end(), [&](int a, int b) { return score[size_t(a)] > score[size_t(b)]; });
  allowed.resize(size_t(k));
  return allowed;
}

std::vector<int> all_indices(int n) {
  std::vector<int> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// Spec section 5 written plainly, in double, for one token.
Routed brute_force(const std::vector<float>& logits, const RoutingParams& p, const std::vector<float>& bias) {
  const int n = int(logits.size());
  std::vector<double> l(logits.begin(), logits.end());
  Routed r;
  std::vector<int> chosen;
  std::vector<double> w;
  if (p.method == RoutingMethod::kSoftmaxTopk) {
    const double m = *std::max_element(l.begin(), l.end());
    double sum = 0;
    for (double v : l) sum += std::exp(v - m);
    std::vector<double> prob(l.size());
    for (size_t i = 0; i < l.size(); ++i) prob[i] = std::exp(l[i] - m) / sum;
    chosen = sorted_top_k(prob, all_indices(n), p.top_k);
    double chosen_sum = 0;
    for (int c : chosen) chosen_sum += prob[size_t(c)];
    for (int c : chosen) w.push_back(p.renormalize ? prob[size_t(c)] / chosen_sum : prob[size_t(c)]);
  } else if (p.method == RoutingMethod::kTopkSoftmax) {
    chosen = sorted_top_k(l, all_indices(n), p.top_k);
    double sum = 0;
    for (int c : chosen) sum += std::exp(l[size_t(c)]);
    for (int c : chosen) w.push_back(std::exp(l[size_t(c)]) / sum);
  } else if (p.method == RoutingMethod::kTopkSigmoid) {
    chosen = sorted_top_k(l, all_indices(n), p.top_k);
    for (int c : chosen) w.push_back(1 / (1 + std::exp(-l[size_t(c)])));
  } else {
    std::vector<double> s(l.size()), biased(l.size());
    for (size_t i = 0; i < l.size(); ++i) {
      s[i] = 1 / (1 + std::exp(-l[i]));
      biased[i] = s[i] + (bias.empty() ? 0.0 : bias[i]);
    }
    const int group_size = n / p.num_groups;
    std::vector<double> group_score(size_t(p.num_groups));
    for (int g = 0; g < p.num_groups; ++g) {
      std::vector<double> members(biased.begin() + g * group_size, biased.begin() + (g + 1) * group_size);
      std::sort(members.rbegin(), members.rend());
      group_score[size_t(g)] = members[0] + (group_size > 1 ? members[1] : 0.0);
    }
    const std::vector<int> groups = sorted_top_k(group_score, all_indices(p.num_groups), p.topk_group);
    std::vector<int> allowed;
    for (int i = 0; i < n; ++i)
      if (std::find(groups.begin(), groups.end(), i / group_size) != groups.end()) allowed.push_back(i);
    std::sort(allowed.begin(), allowed.end());
    chosen = sorted_top_k(biased, allowed, p.top_k);
    double sum = 0;
    for (int c : chosen) sum += s[size_t(c)];
    for (int c : chosen) w.push_back(s[size_t(c)] / sum * p.routed_scaling_factor);
  }
  for (size_t j = 0; j < chosen.size(); ++j) {
    r.ids.push_back(chosen[j]);
    r.weights.push_back(float(w[j]));
  }
  return r;
}

TEST(Routing, SoftmaxTopkHandComputedWithTie) {
  RoutingParams p;
  p.top_k = 2;
  const Routed r = run({1, 3, 2, 3}, 4, p);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 3}));  // equal logits: the lower id first
  const double denom = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(r.weights[0], std::exp(3.0) / denom, 1e-7);
  EXPECT_EQ(r.weights[0], r.weights[1]);
  p.renormalize = true;
  const Routed n = run({1, 3, 2, 3}, 4, p);
  EXPECT_FLOAT_EQ(n.weights[0], 0.5f);
  EXPECT_FLOAT_EQ(n.weights[1], 0.5f);
}

TEST(Routing, AllEqualPicksLowestIds) {
  for (const RoutingMethod m : {RoutingMethod::kSoftmaxTopk, RoutingMethod::kTopkSoftmax,
                                RoutingMethod::kSigmoidGroupedTopk, RoutingMethod::kTopkSigmoid}) {
    RoutingParams p;
    p.method = m;
    p.top_k = 3;
    EXPECT_EQ(run(std::vector<float>(6, 0.5f), 6, p).ids, (std::vector<int32_t>{0, 1, 2})) << int(m);
  }
}

TEST(Routing, TopkSoftmaxHandComputed) {
  RoutingParams p;
  p.method = RoutingMethod::kTopkSoftmax;
  p.top_k = 2;
  const Routed r = run({0, 2, 1, -1}, 4, p);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], std::exp(1.0) / (std::exp(1.0) + 1), 1e-7);
  EXPECT_NEAR(r.weights[1], 1 / (std::exp(1.0) + 1), 1e-7);
}

// Llama-4: the k largest logits, each weighted by its own sigmoid, not normalized over the k (their sum
// is not 1).
TEST(Routing, TopkSigmoidHandComputed) {
  RoutingParams p;
  p.method = RoutingMethod::kTopkSigmoid;
  p.top_k = 2;
  const Routed r = run({0, 2, 1, -1, 2}, 5, p);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 4}));  // equal logits: the lower id first
  EXPECT_NEAR(r.weights[0], 1 / (1 + std::exp(-2.0)), 1e-7);
  EXPECT_EQ(r.weights[0], r.weights[1]);
  p.top_k = 1;
  const Routed one = run({-3, -INFINITY, -5}, 3, p);
  EXPECT_EQ(one.ids, (std::vector<int32_t>{0}));
  EXPECT_NEAR(one.weights[0], 1 / (1 + std::exp(3.0)), 1e-8);
}

// 8 experts in 4 groups of 2. The bias lifts group 3 above group 0 and expert 7 above expert 1,
// but the weights stay the unbiased sigmoids, renormalised and scaled.
TEST(Routing, SigmoidGroupedTopkHandComputed) {
  const std::vector<float> logits = {3, 2, 1, -1, 0, 0, -3, 1};
  const std::vector<float> bias = {0, 0, 0, 0, 0, 0, 0, 0.9f};
  RoutingParams p;
  p.method = RoutingMethod::kSigmoidGroupedTopk;
  p.top_k = 2;
  p.num_groups = 4;
  p.topk_group = 2;
  p.routed_scaling_factor = 2.5f;
  p.correction_bias = bias.data();
  // Group scores: g0 = s(3)+s(2) = 1.833, g1 = s(1)+s(-1) = 1, g2 = 1, g3 = s(-3)+s(1)+0.9 = 1.678.
  // Kept: g0, g3. Biased: e0 .953, e1 .881, e6 .047, e7 1.631 -> e7, e0.
  const Routed r = run(logits, 8, p);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{7, 0}));
  const double s7 = 1 / (1 + std::exp(-1.0)), s0 = 1 / (1 + std::exp(-3.0));
  EXPECT_NEAR(r.weights[0], s7 / (s7 + s0) * 2.5, 1e-6);
  EXPECT_NEAR(r.weights[1], s0 / (s7 + s0) * 2.5, 1e-6);
}

TEST(Routing, MatchesSortBasedImplementationOnRandomLogits) {
  testing::Rng rng(11);
  const int E = 16, T = 200;
  std::vector<float> bias(E);
  for (float& b : bias) b = float(rng.uniform(-0.2, 0.2));
  std::vector<RoutingParams> cases(7);
  cases[0].top_k = 4;
  cases[1].top_k = 4;
  cases[1].renormalize = true;
  cases[2].method = RoutingMethod::kTopkSoftmax;
  cases[2].top_k = 3;
  cases[3].method = RoutingMethod::kSigmoidGroupedTopk;
  cases[3].top_k = 4;
  cases[3].num_groups = 4;
  cases[3].topk_group = 2;
  cases[3].routed_scaling_factor = 2.5f;
  cases[3].correction_bias = bias.data();
  cases[4] = cases[3];
  cases[4].num_groups = 16;  // groups of one expert
  cases[4].topk_group = 5;
  cases[4].correction_bias = nullptr;
  cases[5].method = RoutingMethod::kTopkSigmoid;
  cases[5].top_k = 1;
  cases[6].method = RoutingMethod::kTopkSigmoid;
  cases[6].top_k = 5;
  for (size_t c = 0; c < cases.size(); ++c) {
    std::vector<float> logits(size_t(T * E));
    // Quantized logits make exact ties common, so the tie rule is exercised.
    for (float& l : logits) l = float(std::round(rng.normal() * 4) / 4);
    const Routed got = run(logits, E, cases[c]);
    for (int t = 0; t < T; ++t) {
      const std::vector<float> row(logits.begin() + t * E, logits.begin() + (t + 1) * E);
      const Routed want = brute_force(row, cases[c], cases[c].correction_bias ? bias : std::vector<float>{});
      for (int j = 0; j < cases[c].top_k; ++j) {
        ASSERT_EQ(got.ids[size_t(t * cases[c].top_k + j)], want.ids[size_t(j)]) << "case " << c << " token " << t;
        ASSERT_NEAR(got.weights[size_t(t * cases[c].top_k + j)], want.weights[size_t(j)], 1e-6)
            << "case " << c << " token " << t;
      }
    }
  }
}

TEST(Routing, NegativeInfinityIsAMask) {
  RoutingParams p;
  p.top_k = 2;
  p.renormalize = true;
  const Routed r = run({-INFINITY, 1, -INFINITY, 0}, 4, p);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(r.weights[0] + r.weights[1], 1.0, 1e-6);
}

TEST(Routing, ZeroTokensWritesNothing) {
  RoutingParams p;
  p.top_k = 2;
  route(nullptr, 0, 4, p, nullptr, nullptr);
}

TEST(Routing, MethodNamesRoundTrip) {
  for (const RoutingMethod m : {RoutingMethod::kSoftmaxTopk, RoutingMethod::kTopkSoftmax,
                                RoutingMethod::kSigmoidGroupedTopk, RoutingMethod::kTopkSigmoid})
    EXPECT_EQ(parse_routing_method(to_string(m)), m);
  EXPECT_EQ(to_string(RoutingMethod::kSigmoidGroupedTopk), "sigmoid_grouped_topk");
  EXPECT_EQ(to_string(RoutingMethod::kTopkSigmoid), "topk_sigmoid");
  expect_error([] { parse_routing_method("softmax", "route", "method"); },
               "fp4moe: route: method: expected one of softmax_topk, topk_softmax, sigmoid_grouped_topk, "
               "topk_sigmoid, got 'softmax'");
}

TEST(Routing, RejectsBadArguments) {
  std::vector<float> logits(8, 0.0f);
  std::vector<int32_t> ids(4);
  std::vector<float> w(4);
  RoutingParams p;
  p.top_k = 5;
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: params.top_k: expected 1..num_experts (4), got 5");
  p.top_k = 2;
  expect_error([&] { route(nullptr, 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: logits: expected a non-null pointer, got null");
  expect_error([&] { route(logits.data(), 2, 4, p, nullptr, w.data()); },
               "fp4moe: route: topk_ids: expected a non-null pointer, got null");
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), nullptr); },
               "fp4moe: route: topk_weights: expected a non-null pointer, got null");
  expect_error([&] { route(logits.data(), -1, 4, p, ids.data(), w.data()); },
               "fp4moe: route: num_tokens: expected a non-negative count, got -1");
  logits[6] = NAN;
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: logits: expected finite values or -inf, got NaN at [1, 2]");
  logits[6] = INFINITY;
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: logits: expected finite values or -inf, got +inf at [1, 2]");
  std::fill(logits.begin(), logits.begin() + 4, -INFINITY);
  logits[6] = 0;
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: logits: expected at least one finite value per token, got only -inf in row 0");
  logits[0] = 0;
  p.method = RoutingMethod::kSigmoidGroupedTopk;
  p.num_groups = 3;
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: params.num_groups: expected a divisor of num_experts (4), got 3");
  p.num_groups = 2;
  p.topk_group = 3;
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: params.topk_group: expected 1..num_groups (2), got 3");
  p.topk_group = 1;
  p.top_k = 3;
  expect_error([&] { route(logits.data(), 2, 4, p, ids.data(), w.data()); },
               "fp4moe: route: params.top_k: expected at most topk_group * experts per group (2), got 3");
}

// route_on_device checks its arguments as route() does, before it touches a device, so these run
// anywhere; a build without the CUDA backend says so instead.
TEST(Routing, OnDeviceRejectsBadArguments) {
  int32_t* ids = reinterpret_cast<int32_t*>(16);  // never dereferenced: every call throws first
  float* weights = reinterpret_cast<float*>(16);
  const float* logits = reinterpret_cast<const float*>(16);
  RoutingParams p;
  p.top_k = 2;
#if FP4MOE_WITH_CUDA
  expect_error([&] { route_on_device(logits, 4, kMaxDeviceRoutingExperts + 1, p, ids, weights, nullptr); },
               "fp4moe: route_on_device: num_experts: expected at most 1024 on the device, got 1025");
  expect_error([&] { route_on_device(nullptr, 4, 8, p, ids, weights, nullptr); },
               "fp4moe: route_on_device: logits: expected a non-null pointer, got null");
  p.top_k = 9;
  expect_error([&] { route_on_device(logits, 4, 8, p, ids, weights, nullptr); },
               "fp4moe: route_on_device: params.top_k: expected 1..num_experts (8), got 9");
  p.top_k = 5;
  p.method = RoutingMethod::kSigmoidGroupedTopk;
  p.num_groups = 4;
  p.topk_group = 2;
  expect_error([&] { route_on_device(logits, 4, 8, p, ids, weights, nullptr); },
               "fp4moe: route_on_device: params.top_k: expected at most topk_group * experts per group (4), got 5");
#else
  expect_error([&] { route_on_device(logits, 4, 8, p, ids, weights, nullptr); },
               "fp4moe: route_on_device: backend: expected a build with the CUDA backend (FP4MOE_CUDA=ON), got a "
               "CPU-only build");
#endif
}

}  // namespace
}  // namespace fp4moe
