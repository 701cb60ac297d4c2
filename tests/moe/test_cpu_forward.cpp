// The CPU backend's MoE forward (spec section 4) on random weights, activations and routings:
// reference_forward_f64 against the independent naive float64 forward, the FP32 backend against
// reference_forward_f64, bit-identical results for any thread count and either scale layout, and
// the edges: T = 0 and 1, idle experts, all tokens on one expert, K a multiple of 16 but not 64,
// ids outside the local range, -1 ids, tokens with no valid slot, NaN inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "common/compare.h"
#include "common/configs.h"
#include "common/random_experts.h"
#include "common/random_inputs.h"
#include "common/run_layer.h"
#include "fp4moe/moe/layer.h"
#include "fp4moe/moe/reference.h"
#include "moe/naive_reference.h"

namespace fp4moe {
namespace {

using namespace fp4moe::testing;

// Spec section 6: the backend against the float64 reference on the same quantized weights.
constexpr double kBackendTolerance = 1e-2;
// The two float64 implementations differ only in summation order.
constexpr double kReferenceTolerance = 1e-12;

struct Case {
  const char* name;
  MoeConfig config;
  int num_tokens;
  float input_scale1 = 0, input_scale2 = 0;  // W4A4 calibrated scales, 0 = dynamic
  bool bias = false;                         // every projection of every expert with a bias
};

MoeConfig make_config(int experts, int hidden, int intermediate, int top_k, Activation act, QuantMode mode,
                      int local_start = 0, int local = -1) {
  MoeConfig c = testing::make_config(experts, hidden, intermediate, top_k, 64, act, mode);
  c.local_expert_start = local_start;
  c.local_experts = local;
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  v.push_back({"silu_w4a16", make_config(8, 64, 96, 2, Activation::kSilu, QuantMode::kW4A16), 37});
  // H = 48 and I = 80: multiples of 16 but not of 64. Experts 2..4 local, the rest elsewhere.
  v.push_back({"swiglu_w4a4_ep", make_config(6, 48, 80, 3, Activation::kSwigluOai, QuantMode::kW4A4, 2, 3), 20});
  v.push_back({"gelu_w4a4_calibrated", make_config(4, 128, 64, 1, Activation::kGeluTanh, QuantMode::kW4A4), 9,
               0.002f, 0.0005f});
  Case clamped{"silu_clamped_w4a16", make_config(5, 32, 48, 2, Activation::kSiluClamped, QuantMode::kW4A16), 16};
  clamped.config.activation.limit = 0.75f;  // small enough to clamp a good share of values
  v.push_back(clamped);
  v.push_back({"silu_w4a4_one_token", make_config(16, 64, 32, 4, Activation::kSilu, QuantMode::kW4A4), 1});
  // Expert biases (gpt-oss): with its activation in W4A16, and in dynamic W4A4 with experts 1..5 local.
  v.push_back({"swiglu_bias_w4a16", make_config(8, 64, 48, 4, Activation::kSwigluOai, QuantMode::kW4A16), 23, 0, 0,
               true});
  v.push_back({"silu_bias_w4a4_ep", make_config(7, 32, 64, 2, Activation::kSilu, QuantMode::kW4A4, 1, 5), 12, 0, 0,
               true});
  return v;
}

std::unique_ptr<MoeLayer> cpu_layer(const MoeConfig& c, const RandomExperts& w, int threads = 0,
                                    ScaleLayout layout = ScaleLayout::kLinear, float in1 = 0, float in2 = 0) {
  BackendOptions options;
  options.cpu_threads = threads;
  auto layer = make_moe_layer(c, Backend::kCpu, options);
  w.load_into(*layer, layout);
  layer->set_input_scales(in1, in2);
  return layer;
}

bool has_local_slot(const Routing& r, const MoeConfig& c, int t) {
  for (int j = 0; j < c.top_k; ++j) {
    const int e = r.ids[size_t(t * c.top_k + j)] - c.local_expert_start;
    if (r.ids[size_t(t * c.top_k + j)] >= 0 && e >= 0 && e < c.num_local_experts()) return true;
  }
  return false;
}

bool same_bits(const std::vector<bf16>& a, const std::vector<bf16>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(bf16)) == 0;
}

// Runs every check of one (config, routing, input) triple.
void check_forward(const Case& c, const Routing& routing, const std::vector<bf16>& x, uint64_t seed) {
  SCOPED_TRACE(c.name);
  const RandomExperts experts(c.config, seed, c.bias);
  auto layer = cpu_layer(c.config, experts, 0, ScaleLayout::kLinear, c.input_scale1, c.input_scale2);
  const std::vector<double> ref = run_reference(*layer, x, routing);
  const std::vector<double> naive = naive_forward(c.config, experts, x, routing, c.input_scale1, c.input_scale2);
  EXPECT_LT(rel_error(ref, naive), kReferenceTolerance);

  const std::vector<bf16> out = run_forward(*layer, x, routing);
  const double err = rel_error(out, ref);
  std::printf("  %-24s T=%-3d rel error vs float64 reference: %.2e\n", c.name, routing.num_tokens, err);
  EXPECT_LT(err, kBackendTolerance);
  EXPECT_FALSE(any_nan(out)) << "an output element was not written";

  for (const int threads : {1, 2, 3, 7}) {
    auto other = cpu_layer(c.config, experts, threads, ScaleLayout::kSwizzled128x4, c.input_scale1, c.input_scale2);
    EXPECT_TRUE(same_bits(run_forward(*other, x, routing), out)) << threads << " threads, swizzled scales";
  }
}

TEST(CpuForward, RandomShapesAgainstReferences) {
  Rng rng(21);
  for (const Case& c : cases()) {
    Routing r = uniform_routing(c.num_tokens, c.config.num_experts, c.config.top_k, rng);
    drop_some(r, c.config, 0.15, rng);
    check_forward(c, r, random_bf16(size_t(c.num_tokens) * c.config.hidden, rng), rng.next());
  }
}

TEST(CpuForward, SkewedRouting) {
  Rng rng(22);
  for (const Case& c : cases()) {
    const Routing r = skewed_routing(c.num_tokens, c.config.num_experts, c.config.top_k, rng);
    check_forward(c, r, random_bf16(size_t(c.num_tokens) * c.config.hidden, rng), rng.next());
  }
}

TEST(CpuForward, AllTokensOnOneExpert) {
  Rng rng(23);
  for (const Case& c : cases()) {
    const Routing r = single_expert_routing(c.num_tokens, c.config.top_k, c.config.local_expert_start, rng);
    check_forward(c, r, random_bf16(size_t(c.num_tokens) * c.config.hidden, rng), rng.next());
  }
}

// The test routing that gives each expert a chosen number of rows (the GPU tests use it to reach
// every token width of every wgmma tile): exactly those rows, k distinct experts per token at
// most, and a clear error where the rows cannot be placed.
TEST(CpuForward, ChosenRowsPerExpert) {
  Rng rng(28);
  const Case c = cases()[0];  // 8 experts, top 2, 37 tokens
  const std::vector<int> rows = {0, 37, 5, 1, 12, 0, 9, 10};
  const Routing r = rows_per_expert_routing(c.num_tokens, c.config.top_k, 0, rows, rng);
  std::vector<int> got(rows.size(), 0);
  for (int t = 0; t < c.num_tokens; ++t) {
    const int32_t* ids = r.ids.data() + size_t(t) * r.top_k;
    for (int j = 0; j < r.top_k; ++j) {
      if (ids[j] < 0) continue;
      ++got[size_t(ids[j])];
      for (int i = 0; i < j; ++i) EXPECT_NE(ids[i], ids[j]) << "token " << t;
    }
  }
  EXPECT_EQ(got, rows);
  check_forward(c, r, random_bf16(size_t(c.num_tokens) * c.config.hidden, rng), rng.next());
  EXPECT_THROW(rows_per_expert_routing(4, 2, 0, {5}, rng), std::invalid_argument);        // more than the tokens
  EXPECT_THROW(rows_per_expert_routing(4, 2, 0, {4, 4, 1}, rng), std::invalid_argument);  // more than the slots
}

TEST(CpuForward, ExpertsWithoutTokens) {
  Rng rng(24);
  const Case c = cases()[0];
  Routing r = uniform_routing(c.num_tokens, 4, c.config.top_k, rng);  // experts 4..7 get nothing
  for (int32_t& id : r.ids) id = id == 1 ? 6 : id;                    // nor does 1; 6 does
  check_forward(c, r, random_bf16(size_t(c.num_tokens) * c.config.hidden, rng), rng.next());
}

TEST(CpuForward, TokensWithNoValidSlotGetZero) {
  Rng rng(25);
  const Case c = cases()[1];  // local experts 2..4 of 6
  Routing r = uniform_routing(c.num_tokens, c.config.num_experts, c.config.top_k, rng);
  const int32_t invalid[] = {-1, 0, 1, 5, -1, 5};
  for (int j = 0; j < c.config.top_k; ++j) {
    r.ids[size_t(0 * c.config.top_k + j)] = invalid[j];      // token 0: -1 and remote ids only
    r.ids[size_t(7 * c.config.top_k + j)] = invalid[j + 3];  // token 7 likewise
  }
  const std::vector<bf16> x = random_bf16(size_t(c.num_tokens) * c.config.hidden, rng);
  check_forward(c, r, x, 99);
  auto layer = cpu_layer(c.config, RandomExperts(c.config, 99));
  const std::vector<bf16> out = run_forward(*layer, x, r);
  for (const int t : {0, 7})
    for (int n = 0; n < c.config.hidden; ++n) EXPECT_EQ(out[size_t(t * c.config.hidden + n)].bits, 0) << t << "," << n;
}

// A null bias is a zero one: an expert loaded again without its biases loses them, and a layer
// whose biases are all zero computes what one without any does, bit for bit.
TEST(CpuForward, ExpertLoadedAgainWithoutBiasesLosesThem) {
  Rng rng(27);
  Case c = cases()[5];  // swiglu_bias_w4a16
  ASSERT_TRUE(c.bias);
  const RandomExperts with_bias(c.config, 5, true), without(c.config, 5, false);
  const Routing r = uniform_routing(c.num_tokens, c.config.num_experts, c.config.top_k, rng);
  const std::vector<bf16> x = random_bf16(size_t(c.num_tokens) * c.config.hidden, rng);
  auto layer = cpu_layer(c.config, with_bias);
  const std::vector<bf16> biased = run_forward(*layer, x, r);
  without.load_into(*layer);
  const std::vector<bf16> reloaded = run_forward(*layer, x, r);
  EXPECT_TRUE(same_bits(reloaded, run_forward(*cpu_layer(c.config, without), x, r)));
  EXPECT_FALSE(same_bits(reloaded, biased)) << "the biases changed nothing: the test cannot tell";

  std::vector<float> zeros(size_t(std::max(c.config.hidden, c.config.intermediate)), 0.0f);
  for (int e = 0; e < without.size(); ++e) {
    OwnedExpertView v = without.view(e);
    v.view.gate.bias = v.view.up.bias = v.view.down.bias = zeros.data();
    layer->load_expert(e, v.view);
  }
  EXPECT_TRUE(same_bits(run_forward(*layer, x, r), reloaded));
}

TEST(CpuForward, ZeroTokens) {
  const Case c = cases()[0];
  auto layer = cpu_layer(c.config, RandomExperts(c.config, 1));
  EXPECT_EQ(layer->workspace_bytes(0), 0u);
  ForwardArgs args;  // T = 0, every pointer null
  layer->forward(args, nullptr, 0, nullptr);
  reference_forward_f64(*layer, args, nullptr);
  Routing empty;
  empty.top_k = c.config.top_k;
  EXPECT_TRUE(run_forward(*layer, {}, empty).empty());
}

// NaN in token 3 of x: the tokens it reaches must be NaN, never a finite wrong answer.
TEST(CpuForward, NanInputShowsInOutput) {
  Rng rng(26);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    if (c.num_tokens < 4) continue;
    const Routing r = uniform_routing(c.num_tokens, c.config.num_experts, c.config.top_k, rng);
    std::vector<bf16> x = random_bf16(size_t(c.num_tokens) * c.config.hidden, rng);
    x[size_t(3 * c.config.hidden + 5)] = float_to_bf16(NAN);
    const RandomExperts experts(c.config, rng.next(), c.bias);
    auto layer = cpu_layer(c.config, experts, 0, ScaleLayout::kLinear, c.input_scale1, c.input_scale2);
    const std::vector<bf16> out = run_forward(*layer, x, r);
    const std::vector<double> ref = run_reference(*layer, x, r);
    const int H = c.config.hidden;
    const bool dynamic_w4a4 = c.config.mode == QuantMode::kW4A4 && c.input_scale1 == 0;
    for (int t = 0; t < c.num_tokens; ++t) {
      // A token with no local slot is 0 whatever the scales; dynamic W4A4 spreads the NaN to all.
      if (!has_local_slot(r, c.config, t) || (t != 3 && !dynamic_w4a4)) continue;
      for (int n = 0; n < H; ++n) {
        ASSERT_TRUE(std::isnan(bf16_to_float(out[size_t(t * H + n)]))) << "token " << t << " col " << n;
        ASSERT_TRUE(std::isnan(ref[size_t(t * H + n)])) << "reference, token " << t << " col " << n;
      }
    }
    // Where NaN is expected on both sides, rel_error skips it; the rest must still match.
    EXPECT_LT(rel_error(out, ref), kBackendTolerance);
  }
}

}  // namespace
}  // namespace fp4moe
