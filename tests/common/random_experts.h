// Random NVFP4 expert weights for a MoeConfig: random code bytes, non-zero E4M3 block scales of a
// realistic spread, and a scale_2 per projection (gate != up) sized so that activations stay O(1);
// optionally a bias per projection (as gpt-oss's experts have), of the outputs' own size.
// Produces ExpertWeightsView in either scale layout and loads any MoeLayer (CPU or CUDA).
// Generation is parallel per expert and seeded per expert: 256 x 7168 x 2048 takes seconds.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "fp4moe/moe/layer.h"

namespace fp4moe::testing {

// One weight matrix [rows, cols], scales kept in the linear layout.
struct RandomMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> packed;  // [rows, cols/2]
  std::vector<uint8_t> scales;  // [rows, cols/16]
  float scale_2 = 1.0f;
  std::vector<float> bias;  // [rows], or empty: none

  uint8_t code(int64_t r, int64_t c) const;        // the E2M1 code of element (r, c)
  uint8_t scale(int64_t r, int64_t c) const;       // the E4M3 scale byte of element (r, c)
  std::vector<uint8_t> swizzled_scales() const;    // the same scales in the 128x4 layout
};

struct RandomExpert {
  RandomMatrix gate, up;  // [I, H]
  RandomMatrix down;      // [H, I]
};

// An ExpertWeightsView plus the swizzled scales it points to when the layout asks for them.
// Moving it keeps the view valid (vector moves keep their buffers).
struct OwnedExpertView {
  ExpertWeightsView view;
  std::array<std::vector<uint8_t>, 3> swizzled;  // gate, up, down
};

class RandomExperts {
 public:
  // One expert per local expert of `config`; with_bias gives every projection a bias of values in
  // [-0.5, 0.5), BF16-representable as a checkpoint's are.
  RandomExperts(const MoeConfig& config, uint64_t seed, bool with_bias = false);

  int size() const { return int(experts_.size()); }
  const RandomExpert& expert(int local) const { return experts_[size_t(local)]; }
  OwnedExpertView view(int local, ScaleLayout layout = ScaleLayout::kLinear) const;
  void load_into(MoeLayer& layer, ScaleLayout layout = ScaleLayout::kLinear) const;

 private:
  std::vector<RandomExpert> experts_;
};

}  // namespace fp4moe::testing
