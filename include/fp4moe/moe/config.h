// What one MoE layer is: sizes, top-k, activation, quantization mode and the local expert range
// (spec section 4). Validated once, at layer creation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace fp4moe {

enum class Activation : uint8_t {
  kSilu,         // silu(g) * u
  kSiluClamped,  // min(silu(g), limit) * clamp(u, -limit, limit)         (DeepSeek-V4)
  kSwigluOai,    // g'=min(g,limit), u'=clamp(u,+-limit): g'*sigmoid(alpha*g')*(u'+1)  (gpt-oss)
  kGeluTanh,     // gelu_tanh(g) * u
};

struct ActivationSpec {
  Activation kind = Activation::kSilu;
  float limit = 7.0f;    // kSiluClamped, kSwigluOai
  float alpha = 1.702f;  // kSwigluOai
};

// W4A16: BF16 activations. W4A4: activations and the intermediate are NVFP4-quantized before each
// GEMM (as on Blackwell), with calibrated or per-forward dynamic global scales.
enum class QuantMode : uint8_t { kW4A16, kW4A4 };

// The widest hidden or intermediate size: GPU epilogues address a token tile's outputs with 32-bit
// offsets (up to 128 token rows of this many columns).
constexpr int kMaxMoeWidth = 1 << 20;

struct MoeConfig {
  int num_experts = 0;   // experts of the model: topk_ids range over [0, num_experts)
  int hidden = 0;        // H, a multiple of 16, at most kMaxMoeWidth
  int intermediate = 0;  // I, a multiple of 16, at most kMaxMoeWidth
  int top_k = 0;
  ActivationSpec activation;
  QuantMode mode = QuantMode::kW4A16;
  int local_expert_start = 0;  // expert parallelism: experts [start, start + local) live here
  int local_experts = -1;      // -1: all experts from local_expert_start on
  int max_tokens = 0;          // the largest batch forward() will see (sizes the workspace)

  int num_local_experts() const { return local_experts < 0 ? num_experts - local_expert_start : local_experts; }
};

// Throws fp4moe::Error naming the first field that is out of range.
void validate(const MoeConfig& config);

std::string_view to_string(Activation activation);
std::string_view to_string(QuantMode mode);
// Accepts the names printed by to_string ("silu", "silu_clamped", "swiglu_oai", "gelu_tanh";
// "w4a16", "w4a4"); anything else throws, listing the accepted names. The error names `where` and
// `argument`: the caller's, e.g. ("MoeLayer", "mode") or ("fp4moe run", "--mode").
Activation parse_activation(std::string_view name, std::string_view where = "parse_activation",
                            std::string_view argument = "name");
QuantMode parse_quant_mode(std::string_view name, std::string_view where = "parse_quant_mode",
                           std::string_view argument = "name");

}  // namespace fp4moe
