// An independent float64 MoE forward for checking reference_forward_f64 itself: written from spec
// section 4 with the scalar codec of tests/common, one (token, slot) pair at a time, every weight
// decoded on the fly. Slow; for small shapes only.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "common/random_experts.h"
#include "common/random_inputs.h"
#include "common/scalar_nvfp4.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::testing {

inline double naive_activation(const ActivationSpec& a, double g, double u) {
  const double limit = a.limit;
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  auto clamp = [](double v, double lo, double hi) { return std::min(std::max(v, lo), hi); };
  switch (a.kind) {
    case Activation::kSilu: return g * sig(g) * u;
    case Activation::kSiluClamped: return std::min(g * sig(g), limit) * clamp(u, -limit, limit);
    case Activation::kSwigluOai: {
      const double gc = std::min(g, limit);
      return gc * sig(double(a.alpha) * gc) * (clamp(u, -limit, limit) + 1);
    }
    case Activation::kGeluTanh:
      return 0.5 * g * (1 + std::tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))) * u;
  }
  return NAN;
}

// Each row of x replaced by its NVFP4 round trip without the global scale (e2m1 * e4m3).
inline void naive_round_trip(std::vector<float>& x, float global) {
  uint8_t codes[16];
  for (size_t b = 0; b < x.size(); b += 16) {
    const double s = scalar::e4m3_value(scalar::quantize_block(&x[b], global, codes));
    for (int i = 0; i < 16; ++i) x[b + size_t(i)] = float(scalar::e2m1_value(codes[i]) * s);
  }
}

inline float naive_global(const std::vector<float>& v, float input_scale) {
  if (input_scale > 0) return 1.0f / input_scale;
  float m = 0;
  for (float x : v) {
    if (std::isnan(x)) return scalar::global_scale(NAN);
    m = std::max(m, std::fabs(x));
  }
  return scalar::global_scale(m);
}

inline double weight(const RandomMatrix& m, int64_t r, int64_t c) {
  return scalar::e2m1_value(m.code(r, c)) * scalar::e4m3_value(m.scale(r, c));
}

inline double naive_bias(const RandomMatrix& m, int64_t row) { return m.bias.empty() ? 0.0 : m.bias[size_t(row)]; }

inline std::vector<double> naive_forward(const MoeConfig& c, const RandomExperts& experts, const std::vector<bf16>& x,
                                         const Routing& routing, float in1 = 0, float in2 = 0) {
  const int T = routing.num_tokens, k = c.top_k, H = c.hidden, I = c.intermediate;
  const bool w4a4 = c.mode == QuantMode::kW4A4;
  std::vector<float> a(x.size());
  for (size_t i = 0; i < x.size(); ++i) a[i] = bf16_to_float(x[i]);
  float gs1 = 1;
  if (w4a4) {
    gs1 = naive_global(a, in1);
    naive_round_trip(a, gs1);
  }
  struct Pair { int t, j, e; };
  std::vector<Pair> pairs;
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < k; ++j) {
      const int e = routing.ids[size_t(t * k + j)] - c.local_expert_start;
      if (routing.ids[size_t(t * k + j)] >= 0 && e >= 0 && e < c.num_local_experts()) pairs.push_back({t, j, e});
    }
  std::vector<float> h(pairs.size() * size_t(I));
  for (size_t p = 0; p < pairs.size(); ++p) {
    const RandomExpert& w = experts.expert(pairs[p].e);
    for (int n = 0; n < I; ++n) {
      double g = 0, u = 0;
      for (int kk = 0; kk < H; ++kk) {
        g += double(a[size_t(pairs[p].t * H + kk)]) * weight(w.gate, n, kk);
        u += double(a[size_t(pairs[p].t * H + kk)]) * weight(w.up, n, kk);
      }
      g = g * double(w.gate.scale_2) / double(gs1) + naive_bias(w.gate, n);
      u = u * double(w.up.scale_2) / double(gs1) + naive_bias(w.up, n);
      float hv = float(naive_activation(c.activation, g, u));
      if (!w4a4) hv = bf16_to_float(float_to_bf16(hv));
      h[p * size_t(I) + size_t(n)] = hv;
    }
  }
  float gs2 = 1;
  if (w4a4 && !pairs.empty()) {
    gs2 = naive_global(h, in2);
    naive_round_trip(h, gs2);
  }
  std::vector<double> out(size_t(T) * size_t(H), 0.0);
  for (size_t p = 0; p < pairs.size(); ++p) {
    const RandomExpert& w = experts.expert(pairs[p].e);
    for (int n = 0; n < H; ++n) {
      double y = 0;
      for (int i = 0; i < I; ++i) y += double(h[p * size_t(I) + size_t(i)]) * weight(w.down, n, i);
      y = y * double(w.down.scale_2) / double(gs2) + naive_bias(w.down, n);
      out[size_t(pairs[p].t * H + n)] += double(routing.weights[size_t(pairs[p].t * k + pairs[p].j)]) * y;
    }
  }
  return out;
}

}  // namespace fp4moe::testing
