#include "cli/kernel_choices.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>

#include "cuda/common/check.h"
#include "cuda/common/launch.h"
#include "cuda/gemm/weight_layout.h"
#include "cuda/moe/hopper_waves.h"
#include "cuda/routing/plan.h"
#include "fp4moe/error.h"

namespace fp4moe::cli {
namespace {

// The dispatch's inputs that come from the device: whether it runs the wgmma kernels, and how many CTAs
// of each counted tile it holds at once. The current device's as the layer counts them
// (moe/cuda_layer.cu), after configure_grouped_gemms().
struct DeviceFacts {
  bool hopper = true;
  cuda::DeviceWaves waves;
};

DeviceFacts device_facts(const KernelDevice& device) {
  if (!device.current) return {true, cuda::hopper_waves(device.sms, device.l2_mib)};
  int id = 0;
  cuda::check_cuda(cudaGetDevice(&id), "cudaGetDevice");
  cuda::configure_grouped_gemms();
  return {cuda::device_is_hopper(id), cuda::device_waves_of(id)};
}

// The rules of the forward that apply beyond its tiles, comma-separated ("-": none).
std::string rules_of(const cuda::ForwardKernels& k) {
  std::string rules;
  const auto add = [&](bool on, const std::string& name) {
    if (on) rules += (rules.empty() ? "" : ", ") + name;
  };
  add(k.tile_handoff, "hand-off");
  add(k.own_tiles, "own tiles");
  add(k.sorted_rows, "sorted rows");
  add(k.gemm1_quantizes_h, "GEMM 1 quantizes h");
  add(k.persistent_gemm2 && !k.gemm2_stages_y, "persistent GEMM 2");
  add(k.gemm2_stages_y, "persistent GEMM 2 (staged y)");
  add(k.gemm2_k_slices > 1, "GEMM 2 in K slices");
  add(k.gemm2_after_quantization, "GEMM 2 weights before its wait");
  add(k.y_in_l2, "y in L2");
  add(k.gemm1_ctas_per_sm > 0, "GEMM 1 at " + std::to_string(k.gemm1_ctas_per_sm) + " CTAs/SM");
  add(k.gemm2_ctas_per_sm > 0, "GEMM 2 at " + std::to_string(k.gemm2_ctas_per_sm) + " CTAs/SM");
  return rules.empty() ? "-" : rules;
}

std::string line(const char* format, auto... values) {
  char text[512];
  std::snprintf(text, sizeof(text), format, values...);
  return text;
}

}  // namespace

std::string kernel_device_line(const KernelDevice& device) {
  if (!device.current) {
    const char* part = device.sms != cuda::kHopperSms     ? ""
                       : device.l2_mib == cuda::kH100L2Mib ? " (H100 SXM)"
                       : device.l2_mib == cuda::kH200L2Mib ? " (H200)"
                                                           : "";
    return "a modeled Hopper GPU of " + std::to_string(device.sms) + " SMs and " + std::to_string(device.l2_mib) +
           " MiB of L2" + part;
  }
  int id = 0;
  cudaDeviceProp prop{};
  cuda::check_cuda(cudaGetDevice(&id), "cudaGetDevice");
  cuda::check_cuda(cudaGetDeviceProperties(&prop, id), "cudaGetDeviceProperties");
  return std::string(prop.name) + " (" + std::to_string(prop.multiProcessorCount) + " SMs)";
}

std::vector<std::string> kernel_choice_lines(const BenchShape& shape, const std::vector<int>& tokens,
                                             const KernelChoiceOptions& options, const KernelDevice& device) {
  require(!tokens.empty(), "fp4moe kernels", "tokens", "at least one batch", "none");
  MoeConfig c = layer_config(shape, options.quant.mode, *std::max_element(tokens.begin(), tokens.end()));
  c.local_experts = options.local_experts;
  validate(c);
  // What the CUDA layer refuses when it is made (moe/cuda_layer.cu).
  require(c.num_local_experts() <= cuda::kPlanMaxLocalExperts, "fp4moe kernels", "local experts",
          "at most " + std::to_string(cuda::kPlanMaxLocalExperts) + " on the CUDA backend", c.num_local_experts());
  require(c.top_k <= cuda::kTokenKernelMaxTopK, "fp4moe kernels", "top-k",
          "at most " + std::to_string(cuda::kTokenKernelMaxTopK) + " on the CUDA backend", c.top_k);
  const DeviceFacts facts = device_facts(device);
  // As the layer reads them when it is made: a forced tile and the rule switches.
  const std::optional<cuda::MmaTileConfig> forced = cuda::forced_gemm_from_env(facts.hopper);
  const cuda::RuleSwitches rules = cuda::rule_switches_from_env();
  const int64_t gate_up_rows = cuda::packed_weight_shape(cuda::WeightRole::kGateUp, c.hidden, c.intermediate).rows;
  const int64_t down_rows = cuda::packed_weight_shape(cuda::WeightRole::kDown, c.hidden, c.intermediate).rows;
  const char* columns = "%6s  %11s  %7s  %-7s  %-24s  %-24s  %-22s  %s";
  std::vector<std::string> lines{
      line(columns, "tokens", "rows/expert", "touched", "path", "GEMM 1", "GEMM 2", "large tiles", "rules")};
  for (int t : tokens) {
    const cuda::ForwardKernels k = cuda::choose_kernels(t, c, facts.hopper, forced, gate_up_rows, down_rows,
                                                        facts.waves, options.quant.calibrated, rules);
    const double rows_per_expert = double(t) * c.top_k / c.num_local_experts();
    lines.push_back(line("%6d  %11.2f  %7.1f  %-7s  %-24s  %-24s  %-22s  %s", t, rows_per_expert,
                         cuda::expected_touched_experts(t, c), k.decode_kernels ? "decode" : "grouped",
                         cuda::gemm_name(k.gemm1).c_str(), cuda::gemm_name(k.gemm2).c_str(),
                         k.large ? cuda::gemm_name(*k.large).c_str() : "-", rules_of(k).c_str()));
  }
  return lines;
}

}  // namespace fp4moe::cli
