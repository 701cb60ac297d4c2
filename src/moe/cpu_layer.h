// The CPU backend's layer: keeps each local expert's weights in the linear scale layout and runs
// cpu_moe_forward() with FP32 sums. Also the float64 reference (reference.h) runs on its weights.
// Internal.
#pragma once
#include <vector>

#include "fp4moe/moe/layer.h"
#include "moe/cpu_forward.h"

namespace fp4moe {

class CpuMoeLayer final : public MoeLayer {
 public:
  CpuMoeLayer(const MoeConfig& config, const BackendOptions& options);

  Backend backend() const override { return Backend::kCpu; }
  void load_expert(int local_expert, const ExpertWeightsView& weights) override;
  void set_input_scales(float gemm1_input_scale, float gemm2_input_scale) override;
  // Host scratch for batches of up to max_tokens tokens (0 for 0 tokens). forward() allocates nothing.
  size_t workspace_bytes(int max_tokens) const override;
  void forward(const ForwardArgs& args, void* workspace, size_t workspace_size, void* stream) override;

  // The same steps with every sum and the activation in double; allocates its own scratch.
  void forward_f64(const ForwardArgs& args, double* out) const;

 private:
  void check_forward(const ForwardArgs& args, const char* where) const;
  CpuForwardPlan plan() const;

  int threads_;
  std::vector<CpuExpert> experts_;
  std::vector<char> loaded_;
  float gemm1_input_scale_ = 0.0f;
  float gemm2_input_scale_ = 0.0f;
};

}  // namespace fp4moe
