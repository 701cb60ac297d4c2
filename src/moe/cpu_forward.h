// The CPU forward of spec section 4, shared by the CPU backend (FP32 sums, BF16 output) and the
// float64 reference (double sums, double output): one templated sequence of steps, so the two can
// only differ in the precision of their arithmetic. Internal.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe {

// One weight matrix [rows, cols] as the CPU backend keeps it: packed codes and linear scales.
struct CpuNvfp4Matrix {
  std::vector<uint8_t> packed;  // [rows, cols/2]
  std::vector<uint8_t> scales;  // [rows, cols/16], linear
  float scale_2 = 1.0f;
  std::vector<float> bias;  // [rows], or empty: none

  float bias_at(int64_t row) const { return bias.empty() ? 0.0f : bias[size_t(row)]; }
};

struct CpuExpert {
  CpuNvfp4Matrix gate;  // [I, H]
  CpuNvfp4Matrix up;    // [I, H]
  CpuNvfp4Matrix down;  // [H, I]
};

// Everything the forward reads besides its arguments.
struct CpuForwardPlan {
  const MoeConfig* config = nullptr;
  const std::vector<CpuExpert>* experts = nullptr;  // one per local expert, all loaded
  float gemm1_input_scale = 0.0f;                   // W4A4: 0 = dynamic
  float gemm2_input_scale = 0.0f;
  int threads = 1;  // resolved, >= 1
};

// Host scratch for `num_tokens` tokens with accumulators of `acc_bytes` (4: float, 8: double);
// 0 when num_tokens is 0.
size_t cpu_forward_workspace_bytes(const MoeConfig& config, int threads, int num_tokens, size_t acc_bytes);

// Runs the layer on already validated arguments; `workspace` holds cpu_forward_workspace_bytes().
// Acc = float writes bf16 `out`, Acc = double writes double `out` (args.out is not read).
template <class Acc, class Out>
void cpu_moe_forward(const CpuForwardPlan& plan, const ForwardArgs& args, void* workspace, Out* out);

extern template void cpu_moe_forward<float, bf16>(const CpuForwardPlan&, const ForwardArgs&, void*, bf16*);
extern template void cpu_moe_forward<double, double>(const CpuForwardPlan&, const ForwardArgs&, void*, double*);

}  // namespace fp4moe
