// `fp4moe bench`'s random experts and W4A4's calibrated input scales (bench_weights.h).
#include "cli/bench_weights.h"

#include <cmath>
#include <random>

#include "checkpoint/calibration.h"
#include "fp4moe/format/nvfp4.h"
#include "fp4moe/format/quantize.h"

namespace fp4moe::cli {
namespace {

void fill_random(std::vector<uint8_t>& codes, std::vector<uint8_t>& scales, float& scale_2, size_t elements,
                 std::mt19937_64& rng) {
  codes.resize(elements / 2);
  scales.resize(elements / kNvfp4BlockSize);
  for (size_t i = 0; i < codes.size(); i += 8) {
    const uint64_t bits = rng();
    for (size_t b = 0; b < 8 && i + b < codes.size(); ++b) codes[i + b] = uint8_t(bits >> (8 * b));
  }
  std::uniform_int_distribution<int> exponent(4, 9), mantissa(0, 7);
  for (uint8_t& s : scales) s = uint8_t(exponent(rng) * 8 + mantissa(rng));
  scale_2 = float(std::pow(10.0, std::uniform_real_distribution<double>(-3.0, -2.0)(rng)));
}

std::vector<float> dequantized(const Nvfp4WeightView& w, int rows, int cols) {
  std::vector<float> out(size_t(rows) * size_t(cols));
  dequantize_nvfp4(w.packed, w.scales, rows, cols, w.scale_layout, w.scale_2, out.data());
  return out;
}

}  // namespace

ExpertPool::ExpertPool(const BenchShape& shape, uint64_t seed, bool with_bias) : experts_(kSize) {
  std::mt19937_64 rng(seed);
  const size_t elements = size_t(shape.intermediate) * shape.hidden;  // gate, up [I, H] and down [H, I]
  for (Expert& e : experts_)
    for (Matrix* m : {&e.gate, &e.up, &e.down}) fill_random(m->codes, m->scales, m->scale_2, elements, rng);
  if (!with_bias) return;
  std::uniform_real_distribution<float> bias(-0.5f, 0.5f);
  for (Expert& e : experts_) {
    for (Matrix* m : {&e.gate, &e.up, &e.down}) {
      m->bias.resize(size_t(m == &e.down ? shape.hidden : shape.intermediate));
      for (float& b : m->bias) b = bias(rng);
    }
  }
}

Nvfp4WeightView ExpertPool::Matrix::view() const {
  return {codes.data(), scales.data(), ScaleLayout::kLinear, scale_2, bias.empty() ? nullptr : bias.data()};
}

ExpertWeightsView ExpertPool::view(int expert, int copy) const {
  const Expert& e = experts_[size_t(entry(expert, copy))];
  return {e.gate.view(), e.up.view(), e.down.view()};
}

InputScales calibrate_input_scales(const ExpertPool& pool, const MoeConfig& config, const std::vector<bf16>& x,
                                   const std::vector<int32_t>& ids, int tokens) {
  const int h = config.hidden, inter = config.intermediate;
  // Copy 0's experts are kSize pool entries: each entry's sample is the tokens routed to any expert
  // that holds it, so its intermediate is computed once per token.
  std::vector<CalibrationSample> samples(ExpertPool::kSize);
  for (int t = 0; t < tokens; ++t) {
    std::vector<bool> taken(ExpertPool::kSize, false);
    for (int k = 0; k < config.top_k; ++k) {
      const int32_t e = ids[size_t(t) * config.top_k + k];
      if (e < 0 || e >= config.num_experts) continue;
      const int p = ExpertPool::entry(e, 0);
      if (taken[size_t(p)]) continue;
      taken[size_t(p)] = true;
      CalibrationSample& s = samples[size_t(p)];
      for (int i = 0; i < h; ++i) s.x.push_back(bf16_to_float(x[size_t(t) * h + i]));
      ++s.tokens;
    }
  }
  float h_amax = 0.0f;
  for (int p = 0; p < ExpertPool::kSize; ++p) {
    CalibrationSample& s = samples[size_t(p)];
    if (s.tokens == 0) continue;
    s.hidden = h;
    const ExpertWeightsView w = pool.view(p, 0);
    h_amax = nan_max(h_amax, intermediate_amax(s, dequantized(w.gate, inter, h).data(),
                                               dequantized(w.up, inter, h).data(), inter, config.activation,
                                               w.gate.bias, w.up.bias));
  }
  constexpr float kDenominator = kE4M3Max * kE2M1Max;  // 2688: input_scale = amax / 2688
  return {amax(x.data(), int64_t(tokens) * h) / kDenominator, h_amax / kDenominator};
}

}  // namespace fp4moe::cli
