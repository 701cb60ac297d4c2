// Random NVFP4 experts (random_experts.h).
#include "common/random_experts.h"

#include <cmath>

#include "common/rng.h"
#include "common/scalar_nvfp4.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/format/quantize.h"
#include "util/parallel.h"

namespace fp4moe::testing {
namespace {

// Block scale codes 0x48..0x67: E4M3 values 4..60, a spread like a real checkpoint's.
constexpr int kScaleCodeLo = 0x48, kScaleCodeCount = 0x20;

double rms_of_scale_codes() {
  double sum = 0;
  for (int c = 0; c < kScaleCodeCount; ++c) sum += std::pow(scalar::e4m3_value(uint8_t(kScaleCodeLo + c)), 2);
  return std::sqrt(sum / kScaleCodeCount);
}

double rms_of_e2m1_codes() {
  double sum = 0;
  for (int c = 0; c < 16; ++c) sum += std::pow(scalar::e2m1_value(uint8_t(c)), 2);
  return std::sqrt(sum / 16);
}

std::vector<float> random_bias(int64_t rows, Rng rng) {
  std::vector<float> bias(static_cast<size_t>(rows));
  for (float& b : bias) b = bf16_to_float(float_to_bf16(float(rng.uniform(-0.5, 0.5))));
  return bias;
}

// Weights of rms ~ gain / sqrt(cols): a row dotted with an O(1) activation stays O(gain).
RandomMatrix random_matrix(int64_t rows, int64_t cols, double gain, Rng rng) {
  RandomMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.packed.resize(size_t(rows * cols / 2));
  rng.fill_bytes(m.packed.data(), m.packed.size());
  m.scales.resize(size_t(rows * cols / 16));
  rng.fill_bytes(m.scales.data(), m.scales.size());
  for (uint8_t& s : m.scales) s = uint8_t(kScaleCodeLo + s % kScaleCodeCount);
  static const double rms = rms_of_scale_codes() * rms_of_e2m1_codes();
  m.scale_2 = float(gain / (rms * std::sqrt(double(cols))));
  return m;
}

}  // namespace

uint8_t RandomMatrix::code(int64_t r, int64_t c) const {
  const uint8_t byte = packed[size_t(r * (cols / 2) + c / 2)];
  return (c & 1) ? uint8_t(byte >> 4) : uint8_t(byte & 0xF);
}

uint8_t RandomMatrix::scale(int64_t r, int64_t c) const { return scales[size_t(r * (cols / 16) + c / 16)]; }

std::vector<uint8_t> RandomMatrix::swizzled_scales() const {
  std::vector<uint8_t> out(size_t(scale_bytes(ScaleLayout::kSwizzled128x4, rows, cols)));
  swizzle_scales(scales.data(), rows, cols, out.data());
  return out;
}

RandomExperts::RandomExperts(const MoeConfig& config, uint64_t seed, bool with_bias) {
  const int64_t H = config.hidden, I = config.intermediate;
  experts_.resize(size_t(config.num_local_experts()));
  const Rng root(seed);
  parallel_for(int64_t(experts_.size()), 0, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const Rng rng = root.split(uint64_t(e));
      // gate and up get different scale_2 on purpose: each half must use its own.
      experts_[size_t(e)].gate = random_matrix(I, H, 1.0, rng.split(0));
      experts_[size_t(e)].up = random_matrix(I, H, 1.25, rng.split(1));
      experts_[size_t(e)].down = random_matrix(H, I, 1.0, rng.split(2));
      if (!with_bias) continue;
      experts_[size_t(e)].gate.bias = random_bias(I, rng.split(3));
      experts_[size_t(e)].up.bias = random_bias(I, rng.split(4));
      experts_[size_t(e)].down.bias = random_bias(H, rng.split(5));
    }
  });
}

OwnedExpertView RandomExperts::view(int local, ScaleLayout layout) const {
  const RandomExpert& e = experts_[size_t(local)];
  OwnedExpertView owned;
  const RandomMatrix* matrices[3] = {&e.gate, &e.up, &e.down};
  Nvfp4WeightView* views[3] = {&owned.view.gate, &owned.view.up, &owned.view.down};
  for (int i = 0; i < 3; ++i) {
    const uint8_t* scales = matrices[i]->scales.data();
    if (layout == ScaleLayout::kSwizzled128x4) {
      owned.swizzled[size_t(i)] = matrices[i]->swizzled_scales();
      scales = owned.swizzled[size_t(i)].data();
    }
    *views[i] = {matrices[i]->packed.data(), scales, layout, matrices[i]->scale_2,
                 matrices[i]->bias.empty() ? nullptr : matrices[i]->bias.data()};
  }
  return owned;
}

void RandomExperts::load_into(MoeLayer& layer, ScaleLayout layout) const {
  for (int e = 0; e < size(); ++e) layer.load_expert(e, view(e, layout).view);
}

}  // namespace fp4moe::testing
