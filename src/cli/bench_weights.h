// The weights `fp4moe bench` times, without a GPU: a few random NVFP4 experts that every layer copy
// loads in turn, and W4A4's calibrated input scales taken from them as bench/nvfp4_torch.py's
// calibrate_input_scales takes them, so that `--scales calibrated` rows read like bench_moe.py's
// `--w4a4-scales calibrated`.
#pragma once
#include <cstdint>
#include <vector>

#include "cli/bench_plan.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/config.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe::cli {

inline constexpr int kCalibrationTokens = 256;  // the sample: the largest batch's first tokens

// Copy c's expert e is pool entry (e + c) % kSize: the timing does not depend on the weights'
// values, and generating each copy's gigabytes on the host would take longer than the benchmark.
// The values follow bench/nvfp4_torch.py: any E2M1 codes, block scales 2^-3..7.5 (biased exponents
// 4..9), global scales 1e-3..1e-2, so that the outputs stay O(1) at every size; with_bias adds a bias
// of values in [-0.5, 0.5) to each projection (as gpt-oss's experts have).
class ExpertPool {
 public:
  static constexpr int kSize = 4;

  ExpertPool(const BenchShape& shape, uint64_t seed, bool with_bias = false);

  static int entry(int expert, int copy) { return (expert + copy) % kSize; }
  ExpertWeightsView view(int expert, int copy) const;

 private:
  struct Matrix {
    std::vector<uint8_t> codes, scales;
    float scale_2 = 1.0f;
    std::vector<float> bias;  // [rows], or empty
    Nvfp4WeightView view() const;
  };
  struct Expert {
    Matrix gate, up, down;
  };
  std::vector<Expert> experts_;
};

// ModelOpt input_scale (amax / 2688) of GEMM 1's and GEMM 2's inputs.
struct InputScales {
  float gemm1 = 0.0f, gemm2 = 0.0f;
};

// The input scales of every copy, from copy 0's weights on the sample x [tokens, hidden] routed by
// ids [tokens, top_k] (ids outside the experts count for nothing): x's amax, and the amax of
// act(gate x, up x) in unquantized arithmetic over each expert's routed tokens.
InputScales calibrate_input_scales(const ExpertPool& pool, const MoeConfig& config, const std::vector<bf16>& x,
                                   const std::vector<int32_t>& ids, int tokens);

}  // namespace fp4moe::cli
