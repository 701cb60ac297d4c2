// The CPU backend: argument checks, weight storage (unswizzling scales once at load) and the
// dispatch into cpu_moe_forward(). It is both the fallback backend and the reference the CUDA
// kernels are tested against.
#include "moe/cpu_layer.h"

#include <cmath>
#include <string>

#include "fp4moe/error.h"
#include "fp4moe/format/nvfp4.h"
#include "fp4moe/format/quantize.h"
#include "moe/backends.h"
#include "util/parallel.h"

namespace fp4moe {
namespace {

CpuNvfp4Matrix copy_matrix(const Nvfp4WeightView& view, int64_t rows, int64_t cols, const std::string& what) {
  validate_weight_view(view, "load_expert", what);
  validate_bias(view, rows, what);
  CpuNvfp4Matrix m;
  m.packed.assign(view.packed, view.packed + rows * cols / 2);
  if (view.scale_layout == ScaleLayout::kLinear) {
    m.scales.assign(view.scales, view.scales + rows * scale_cols(cols));
  } else {
    m.scales.resize(size_t(rows * scale_cols(cols)));
    unswizzle_scales(view.scales, rows, cols, m.scales.data());
  }
  bool valid = true;
  for (uint8_t s : m.scales) valid &= is_valid_block_scale(s);
  require_valid_block_scales(valid, what);
  m.scale_2 = view.scale_2;
  if (view.bias) m.bias.assign(view.bias, view.bias + rows);
  return m;
}

}  // namespace

CpuMoeLayer::CpuMoeLayer(const MoeConfig& config, const BackendOptions& options)
    : MoeLayer(config),
      threads_(resolve_threads(options.cpu_threads)),
      experts_(size_t(config.num_local_experts())),
      loaded_(size_t(config.num_local_experts()), 0) {
  require(options.cpu_threads >= 0, "make_moe_layer", "options.cpu_threads", "0 (all cores) or a positive count",
          options.cpu_threads);
}

void CpuMoeLayer::load_expert(int local_expert, const ExpertWeightsView& weights) {
  const int E = config_.num_local_experts();
  require(local_expert >= 0 && local_expert < E, "load_expert", "local_expert",
          "0..num_local_experts - 1 (" + std::to_string(E - 1) + ")", local_expert);
  const int64_t H = config_.hidden, I = config_.intermediate;
  const std::string name = "expert " + std::to_string(local_expert);
  CpuExpert expert;
  expert.gate = copy_matrix(weights.gate, I, H, name + " gate");
  expert.up = copy_matrix(weights.up, I, H, name + " up");
  expert.down = copy_matrix(weights.down, H, I, name + " down");
  experts_[size_t(local_expert)] = std::move(expert);
  loaded_[size_t(local_expert)] = 1;
}

void CpuMoeLayer::set_input_scales(float gemm1_input_scale, float gemm2_input_scale) {
  validate_input_scale(gemm1_input_scale, "gemm1_input_scale");
  validate_input_scale(gemm2_input_scale, "gemm2_input_scale");
  gemm1_input_scale_ = gemm1_input_scale;  // W4A16 ignores both
  gemm2_input_scale_ = gemm2_input_scale;
}

size_t CpuMoeLayer::workspace_bytes(int max_tokens) const {
  require(max_tokens >= 0, "workspace_bytes", "max_tokens", "a non-negative token count", max_tokens);
  return cpu_forward_workspace_bytes(config_, threads_, max_tokens, sizeof(float));
}

void CpuMoeLayer::check_forward(const ForwardArgs& args, const char* where) const {
  validate_token_count(config_, args.num_tokens, where);
  for (size_t e = 0; e < loaded_.size(); ++e)
    require(loaded_[e] != 0, where, "experts", "every local expert loaded with load_expert() first",
            "local expert " + std::to_string(e) + " not loaded");
  if (args.num_tokens == 0) return;
  validate_input_pointers(args, where, "a non-null pointer");
}

CpuForwardPlan CpuMoeLayer::plan() const {
  return {&config_, &experts_, gemm1_input_scale_, gemm2_input_scale_, threads_};
}

// `stream` has no meaning on the CPU and is ignored.
void CpuMoeLayer::forward(const ForwardArgs& args, void* workspace, size_t workspace_size, void*) {
  check_forward(args, "forward");
  const size_t needed = workspace_bytes(args.num_tokens);
  require(workspace_size >= needed, "forward", "workspace_size",
          "at least workspace_bytes(num_tokens) = " + std::to_string(needed), std::to_string(workspace_size));
  if (args.num_tokens == 0) return;
  require(args.out != nullptr, "forward", "args.out", "a non-null pointer", "null");
  require(workspace != nullptr, "forward", "workspace",
          "a non-null pointer (workspace_bytes(num_tokens) = " + std::to_string(needed) + ")", "null");
  cpu_moe_forward<float, bf16>(plan(), args, workspace, args.out);
}

void CpuMoeLayer::forward_f64(const ForwardArgs& args, double* out) const {
  check_forward(args, "reference_forward_f64");
  if (args.num_tokens == 0) return;
  require(out != nullptr, "reference_forward_f64", "out", "a non-null pointer", "null");
  std::vector<unsigned char> workspace(
      cpu_forward_workspace_bytes(config_, threads_, args.num_tokens, sizeof(double)));
  cpu_moe_forward<double, double>(plan(), args, workspace.data(), out);
}

std::unique_ptr<MoeLayer> make_cpu_moe_layer(const MoeConfig& config, const BackendOptions& options) {
  return std::make_unique<CpuMoeLayer>(config, options);
}

}  // namespace fp4moe
