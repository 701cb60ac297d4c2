// add_unquantized_expert_f64 (reference.h), the layer before quantization in float64: against a
// naive per-slot loop written here from spec section 4, on random float weights with biases, every
// activation, expert parallelism, dropped and out-of-range ids and a token naming one expert twice;
// the same bits for any thread count; 0 tokens; the NVFP4 reference as the limit where the float
// weights are the dequantized NVFP4 ones; and its argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/configs.h"
#include "common/expect_error.h"
#include "common/random_experts.h"
#include "common/random_inputs.h"
#include "common/run_layer.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/reference.h"
#include "moe/naive_reference.h"

namespace fp4moe {
namespace {

using namespace fp4moe::testing;

// One expert's float weights and biases, owned.
struct FloatExpert {
  std::vector<float> gate, up, down, gate_bias, up_bias, down_bias;

  UnquantizedExpertView view() const {
    const auto ptr = [](const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); };
    return {gate.data(), up.data(), down.data(), ptr(gate_bias), ptr(up_bias), ptr(down_bias)};
  }
};

std::vector<float> normal_floats(size_t n, double scale, Rng& rng) {
  std::vector<float> v(n);
  for (float& x : v) x = float(scale * rng.normal());
  return v;
}

std::vector<FloatExpert> random_float_experts(const MoeConfig& c, bool with_bias, Rng& rng) {
  const size_t H = size_t(c.hidden), I = size_t(c.intermediate);
  std::vector<FloatExpert> experts(size_t(c.num_local_experts()));
  for (FloatExpert& e : experts) {
    e.gate = normal_floats(I * H, 1.0 / std::sqrt(double(H)), rng);
    e.up = normal_floats(I * H, 1.5 / std::sqrt(double(H)), rng);
    e.down = normal_floats(H * I, 1.0 / std::sqrt(double(I)), rng);
    if (!with_bias) continue;
    e.gate_bias = normal_floats(I, 0.3, rng);
    e.up_bias = normal_floats(I, 0.3, rng);
    e.down_bias = normal_floats(H, 0.3, rng);
  }
  return experts;
}

// Random float experts, tokens and routing for `c`.
struct Batch {
  std::vector<FloatExpert> experts;
  std::vector<bf16> x;
  Routing r;
};

Batch random_batch(const MoeConfig& c, int tokens, uint64_t seed, bool with_bias, bool skewed = false) {
  Rng rng(seed);
  Batch b;
  b.experts = random_float_experts(c, with_bias, rng);
  b.x = random_bf16(size_t(tokens) * size_t(c.hidden), rng);
  b.r = skewed ? skewed_routing(tokens, c.num_experts, c.top_k, rng)
               : uniform_routing(tokens, c.num_experts, c.top_k, rng);
  return b;
}

ForwardArgs host_args(const std::vector<bf16>& x, const Routing& r) {
  return {r.num_tokens, x.data(), r.ids.data(), r.weights.data(), nullptr};
}

std::vector<double> layer_f64(const MoeConfig& c, const std::vector<FloatExpert>& experts, const ForwardArgs& args,
                              int threads) {
  std::vector<double> out(size_t(args.num_tokens) * size_t(c.hidden), 0.0);
  for (int e = 0; e < c.num_local_experts(); ++e)
    add_unquantized_expert_f64(c, e, experts[size_t(e)].view(), args, out.data(), threads);
  return out;
}

// Spec section 4 slot by slot, with nothing quantized or rounded.
std::vector<double> naive_unquantized(const MoeConfig& c, const std::vector<FloatExpert>& experts,
                                      const std::vector<bf16>& x, const Routing& r) {
  const int H = c.hidden, I = c.intermediate, k = c.top_k;
  const auto bias = [](const std::vector<float>& b, int n) { return b.empty() ? 0.0 : double(b[size_t(n)]); };
  std::vector<double> out(size_t(r.num_tokens) * size_t(H), 0.0);
  std::vector<double> h(static_cast<size_t>(I));
  for (int t = 0; t < r.num_tokens; ++t) {
    for (int j = 0; j < k; ++j) {
      const int id = r.ids[size_t(t * k + j)], e = id - c.local_expert_start;
      if (id < 0 || e < 0 || e >= c.num_local_experts()) continue;
      const FloatExpert& w = experts[size_t(e)];
      for (int n = 0; n < I; ++n) {
        double g = 0, u = 0;
        for (int kk = 0; kk < H; ++kk) {
          const double xv = bf16_to_float(x[size_t(t * H + kk)]);
          g += xv * w.gate[size_t(n * H + kk)];
          u += xv * w.up[size_t(n * H + kk)];
        }
        h[size_t(n)] = naive_activation(c.activation, g + bias(w.gate_bias, n), u + bias(w.up_bias, n));
      }
      for (int n = 0; n < H; ++n) {
        double y = 0;
        for (int i = 0; i < I; ++i) y += h[size_t(i)] * w.down[size_t(n * I + i)];
        out[size_t(t * H + n)] += double(r.weights[size_t(t * k + j)]) * (y + bias(w.down_bias, n));
      }
    }
  }
  return out;
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::fmax(diff, std::fabs(a[i] - b[i]));
    norm = std::fmax(norm, std::fabs(b[i]));
  }
  return norm == 0 ? diff : diff / norm;
}

struct Case {
  const char* name;
  MoeConfig config;
  int tokens;
  bool bias;
};

TEST(UnquantizedReference, MatchesNaiveLoop) {
  MoeConfig ep = make_config(10, 48, 80, 3, 33, Activation::kSwigluOai);
  ep.local_expert_start = 3;
  ep.local_experts = 4;
  const Case cases[] = {
      {"silu", make_config(6, 64, 48, 2, 17), 17, false},
      {"silu_clamped_bias", make_config(4, 32, 32, 2, 9, Activation::kSiluClamped), 9, true},
      {"gelu_tanh", make_config(5, 16, 96, 4, 5, Activation::kGeluTanh), 5, false},
      {"swiglu_oai_local_range", ep, 33, true},
      {"one_token", make_config(8, 48, 32, 2, 1), 1, true},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    const MoeConfig& c = tc.config;
    Batch b = random_batch(c, tc.tokens, 101, tc.bias);
    Rng rng(102);
    drop_some(b.r, c, 0.25, rng);
    if (tc.tokens > 1 && c.top_k > 1) b.r.ids[1] = b.r.ids[0] = c.local_expert_start;  // one expert in two slots
    const std::vector<double> got = layer_f64(c, b.experts, host_args(b.x, b.r), 0);
    EXPECT_LT(max_rel_diff(got, naive_unquantized(c, b.experts, b.x, b.r)), 1e-12);
    // A token with no local slot gets exactly 0 (the naive loop adds nothing for it either); some token more.
    double total = 0;
    for (int t = 0; t < tc.tokens; ++t) {
      bool local = false;
      for (int j = 0; j < c.top_k; ++j) {
        const int e = b.r.ids[size_t(t * c.top_k + j)] - c.local_expert_start;
        local = local || (b.r.ids[size_t(t * c.top_k + j)] >= 0 && e >= 0 && e < c.num_local_experts());
      }
      for (int n = 0; n < c.hidden; ++n) {
        const double v = got[size_t(t * c.hidden + n)];
        if (!local) EXPECT_EQ(v, 0.0) << "token " << t;
        total += std::fabs(v);
      }
    }
    EXPECT_GT(total, 0.0);
  }
}

TEST(UnquantizedReference, SameBitsForAnyThreadCount) {
  const MoeConfig c = make_config(4, 64, 96, 2, 24);
  const Batch b = random_batch(c, 24, 7, true, /*skewed=*/true);
  const std::vector<double> one = layer_f64(c, b.experts, host_args(b.x, b.r), 1);
  for (int threads : {2, 3, 7}) EXPECT_EQ(layer_f64(c, b.experts, host_args(b.x, b.r), threads), one) << threads;
}

// With the dequantized NVFP4 weights as its float weights, the unquantized layer is the NVFP4
// float64 reference of W4A16 but for that reference's BF16 rounding of the intermediate (and
// scale_2 applied to the weights instead of the sums): the two agree to BF16's precision.
TEST(UnquantizedReference, DequantizedWeightsGiveTheNvfp4Reference) {
  const MoeConfig c = make_config(6, 64, 48, 2, 20);
  const RandomExperts nvfp4(c, 5, /*with_bias=*/true);
  std::vector<FloatExpert> experts(size_t(c.num_experts));
  const auto dequantized = [](const RandomMatrix& m) {
    std::vector<float> w(size_t(m.rows * m.cols));
    dequantize_nvfp4(m.packed.data(), m.scales.data(), m.rows, m.cols, ScaleLayout::kLinear, m.scale_2, w.data());
    return w;
  };
  for (int e = 0; e < c.num_experts; ++e) {
    const RandomExpert& w = nvfp4.expert(e);
    experts[size_t(e)] = {dequantized(w.gate), dequantized(w.up), dequantized(w.down), w.gate.bias, w.up.bias,
                          w.down.bias};
  }
  Rng rng(9);
  const std::vector<bf16> x = random_bf16(size_t(20 * c.hidden), rng);
  const Routing r = uniform_routing(20, c.num_experts, c.top_k, rng);
  auto cpu = make_moe_layer(c, Backend::kCpu);
  nvfp4.load_into(*cpu);
  const std::vector<double> reference = run_reference(*cpu, x, r);
  const std::vector<double> unquantized = layer_f64(c, experts, host_args(x, r), 0);
  const double diff = max_rel_diff(unquantized, reference);
  EXPECT_LT(diff, 1e-2);
  EXPECT_GT(diff, 0.0);  // the intermediate's BF16 rounding is there, so the two are not one function
}

TEST(UnquantizedReference, ZeroTokensAddNothing) {
  const MoeConfig c = make_config(2, 16, 16, 1, 4);
  Rng rng(3);
  const std::vector<FloatExpert> experts = random_float_experts(c, false, rng);
  ForwardArgs args;  // 0 tokens: no pointers needed
  double untouched = 1.5;
  add_unquantized_expert_f64(c, 1, experts[1].view(), args, &untouched);
  EXPECT_EQ(untouched, 1.5);
}

TEST(UnquantizedReference, RejectsBadArguments) {
  const MoeConfig c = make_config(2, 16, 16, 1, 4);
  const Batch b = random_batch(c, 4, 3, false);
  const std::vector<FloatExpert>& experts = b.experts;
  std::vector<double> out(size_t(4 * c.hidden));
  const ForwardArgs args = host_args(b.x, b.r);
  expect_error([&] { add_unquantized_expert_f64(c, 2, experts[0].view(), args, out.data()); },
               "add_unquantized_expert_f64: local_expert: expected 0..num_local_experts - 1 (1), got 2");
  UnquantizedExpertView no_down = experts[0].view();
  no_down.down = nullptr;
  expect_error([&] { add_unquantized_expert_f64(c, 0, no_down, args, out.data()); },
               "add_unquantized_expert_f64: weights: expected gate, up and down weights (non-null), got a null "
               "projection");
  expect_error([&] { add_unquantized_expert_f64(c, 0, experts[0].view(), args, nullptr); },
               "add_unquantized_expert_f64: out: expected a non-null pointer, got null");
  ForwardArgs too_many = args;
  too_many.num_tokens = 5;
  expect_error([&] { add_unquantized_expert_f64(c, 0, experts[0].view(), too_many, out.data()); },
               "add_unquantized_expert_f64: args.num_tokens: expected 0..max_tokens (4), got 5");
  ForwardArgs no_ids = args;
  no_ids.topk_ids = nullptr;
  expect_error([&] { add_unquantized_expert_f64(c, 0, experts[0].view(), no_ids, out.data()); },
               "add_unquantized_expert_f64: args.topk_ids: expected a non-null pointer, got null");
}

}  // namespace
}  // namespace fp4moe
