// The CLI's layer runs (layer_run.h).
#include "cli/layer_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "fp4moe/error.h"
#include "fp4moe/moe/buffer.h"
#include "fp4moe/routing/routing.h"

#if FP4MOE_WITH_CUDA
#include "cli/gpu_timing.h"
#endif

namespace fp4moe::cli {
namespace {

// Llama-4 (MoeModelConfig::router_weight_on_input): each token's one weight scales its input instead,
// x * w in BF16 as vLLM's apply_router_weight_on_input computes it, and the weight becomes 1.
void apply_weights_to_input(TokenRouting& r, std::vector<bf16>& x, int tokens, int hidden, int top_k) {
  require(top_k == 1, "router_weight_on_input", "top_k", "1 (one weight per token to scale its input by)", top_k);
  for (int t = 0; t < tokens; ++t) {
    const float w = bf16_to_float(float_to_bf16(r.weights[size_t(t)]));
    for (int h = 0; h < hidden; ++h) {
      bf16& v = x[size_t(t) * hidden + h];
      v = float_to_bf16(bf16_to_float(v) * w);
    }
    r.weights[size_t(t)] = 1.0f;
  }
  r.how += ", weights applied to the input";
}

TokenRouting route_with_router(const MoeCheckpoint& ckpt, int layer, const std::vector<bf16>& x, int tokens) {
  const RouterWeights router = read_router(ckpt, layer);
  const MoeModelConfig& m = ckpt.model();
  TokenRouting r;
  r.ids.resize(size_t(tokens) * m.top_k);
  r.weights.resize(r.ids.size());
  std::vector<float> logits(size_t(tokens) * router.num_experts);
  for (int t = 0; t < tokens; ++t) {
    for (int e = 0; e < router.num_experts; ++e) {
      double acc = router.linear_bias.empty() ? 0.0 : router.linear_bias[size_t(e)];
      for (int h = 0; h < router.hidden; ++h)
        acc += double(bf16_to_float(x[size_t(t) * router.hidden + h])) * router.weight[size_t(e) * router.hidden + h];
      logits[size_t(t) * router.num_experts + e] = float(acc);
    }
  }
  RoutingParams params = m.routing;
  params.top_k = m.top_k;
  params.correction_bias = router.bias.empty() ? nullptr : router.bias.data();
  route(logits.data(), tokens, router.num_experts, params, r.ids.data(), r.weights.data());
  r.how = std::string(to_string(params.method)) + " on the checkpoint's router";
  return r;
}

TokenRouting random_routing(int tokens, int num_experts, int top_k, uint64_t seed, std::string why) {
  std::mt19937_64 gen(seed ^ 0x5EEDull);
  TokenRouting r;
  std::vector<int32_t> experts(static_cast<size_t>(num_experts));
  for (int t = 0; t < tokens; ++t) {
    for (int e = 0; e < num_experts; ++e) experts[size_t(e)] = e;
    std::shuffle(experts.begin(), experts.end(), gen);
    for (int j = 0; j < top_k; ++j) {
      r.ids.push_back(experts[size_t(j)]);
      r.weights.push_back(1.0f / float(top_k));
    }
  }
  r.how = "random (" + why + ")";
  return r;
}

}  // namespace

Nvfp4WeightView weight_view(const QuantizedWeight& q, const float* bias) {
  return {q.packed.data(), q.scales.data(), ScaleLayout::kLinear, q.scale_2, bias};
}

std::vector<bf16> random_tokens(int64_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<bf16> x(static_cast<size_t>(n));
  for (auto& v : x) v = float_to_bf16(normal(gen));
  return x;
}

TokenRouting checkpoint_routing(const MoeCheckpoint& ckpt, int layer, std::vector<bf16>& x, int tokens,
                                uint64_t seed) {
  const MoeLayerTensors& t = ckpt.moe_layer(layer);
  if (t.router_weight.empty())
    return random_routing(tokens, t.num_experts, ckpt.model().top_k, seed, "the checkpoint has no router");
  if (!ckpt.model().routing_known)
    return random_routing(tokens, t.num_experts, ckpt.model().top_k, seed, ckpt.model().routing_note);
  TokenRouting r = route_with_router(ckpt, layer, x, tokens);
  if (ckpt.model().router_weight_on_input) apply_weights_to_input(r, x, tokens, t.hidden, ckpt.model().top_k);
  return r;
}

double rel_error(std::span<const bf16> y, std::span<const double> ref) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double d = double(bf16_to_float(y[i])) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  if (std::isnan(num)) return INFINITY;
  return den == 0.0 ? std::sqrt(num) : std::sqrt(num / den);
}

Timed run_forward(MoeLayer& layer, const std::vector<bf16>& x, const TokenRouting& routing, int tokens, int iters) {
  const MoeConfig& c = layer.config();
  const Backend b = layer.backend();
  const Buffer dx = Buffer::copy_of(b, x), ids = Buffer::copy_of(b, routing.ids),
               w = Buffer::copy_of(b, routing.weights);
  Buffer out(b, size_t(tokens) * c.hidden * sizeof(bf16)), ws(b, layer.workspace_bytes(tokens));
  out.fill(0xFF);  // NaN-poisoned: an unwritten element shows in the error
  ForwardArgs args;
  args.num_tokens = tokens;
  args.x = static_cast<const bf16*>(dx.data());
  args.topk_ids = static_cast<const int32_t*>(ids.data());
  args.topk_weights = static_cast<const float*>(w.data());
  args.out = static_cast<bf16*>(out.data());

  Timed r;
  layer.forward(args, ws.data(), ws.size(), nullptr);
  r.out = out.to_vector<bf16>(size_t(tokens) * c.hidden);

#if FP4MOE_WITH_CUDA
  if (b == Backend::kCuda) {
    if (iters > 0) r.median_us = time_forward(layer, args, ws.data(), ws.size(), iters).us_per_forward;
    return r;
  }
#endif
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    layer.forward(args, ws.data(), ws.size(), nullptr);
    times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  if (!times.empty()) {
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    r.median_us = times[times.size() / 2];
  }
  return r;
}

}  // namespace fp4moe::cli
