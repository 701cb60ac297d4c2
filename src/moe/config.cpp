// MoeConfig validation and the names of its enums. Every check names the field, the accepted range
// and the value it got, so a bad config fails at layer creation with a message a user can act on.
#include "fp4moe/moe/config.h"

#include <climits>
#include <cmath>
#include <string>

#include "fp4moe/error.h"
#include "util/names.h"

namespace fp4moe {
namespace {

constexpr const char* kWhere = "MoeConfig";

constexpr std::string_view kActivationNames[] = {"silu", "silu_clamped", "swiglu_oai", "gelu_tanh"};
constexpr std::string_view kModeNames[] = {"w4a16", "w4a4"};

std::string range(int lo, const std::string& hi_name, int hi) {
  return std::to_string(lo) + ".." + hi_name + " (" + std::to_string(hi) + ")";
}

void validate_activation(const ActivationSpec& a) {
  const int kind = int(a.kind);
  require(kind >= 0 && kind < int(std::size(kActivationNames)), kWhere, "activation.kind",
          names::list(kActivationNames), kind);
  require(std::isfinite(a.limit) && a.limit > 0.0f, kWhere, "activation.limit", "a finite positive value",
          std::to_string(a.limit));
  require(std::isfinite(a.alpha), kWhere, "activation.alpha", "a finite value", std::to_string(a.alpha));
}

}  // namespace

void validate(const MoeConfig& c) {
  require(c.num_experts > 0, kWhere, "num_experts", "a positive count", c.num_experts);
  require(c.hidden > 0 && c.hidden % 16 == 0, kWhere, "hidden", "a positive multiple of 16", c.hidden);
  require(c.intermediate > 0 && c.intermediate % 16 == 0, kWhere, "intermediate", "a positive multiple of 16",
          c.intermediate);
  const std::string width_limit = "at most " + std::to_string(kMaxMoeWidth);
  require(c.hidden <= kMaxMoeWidth, kWhere, "hidden", width_limit, c.hidden);
  require(c.intermediate <= kMaxMoeWidth, kWhere, "intermediate", width_limit, c.intermediate);
  require(c.top_k >= 1 && c.top_k <= c.num_experts, kWhere, "top_k", range(1, "num_experts", c.num_experts),
          c.top_k);
  validate_activation(c.activation);
  require(int(c.mode) == int(QuantMode::kW4A16) || int(c.mode) == int(QuantMode::kW4A4), kWhere, "mode",
          names::list(kModeNames), int(c.mode));
  require(c.local_expert_start >= 0 && c.local_expert_start < c.num_experts, kWhere, "local_expert_start",
          range(0, "num_experts - 1", c.num_experts - 1), c.local_expert_start);
  const int available = c.num_experts - c.local_expert_start;
  require(c.local_experts == -1 || (c.local_experts >= 1 && c.local_experts <= available), kWhere, "local_experts",
          "-1 or " + range(1, "num_experts - local_expert_start", available), c.local_experts);
  // Pair indices (token * top_k + slot) are int32 in every backend.
  require(c.max_tokens > 0 && int64_t(c.max_tokens) * c.top_k <= INT_MAX, kWhere, "max_tokens",
          "a positive count with max_tokens * top_k <= " + std::to_string(INT_MAX), c.max_tokens);
}

std::string_view to_string(Activation activation) { return names::of(activation, kActivationNames); }

std::string_view to_string(QuantMode mode) { return names::of(mode, kModeNames); }

Activation parse_activation(std::string_view name, std::string_view where, std::string_view argument) {
  return names::parse<Activation>(name, kActivationNames, where, argument);
}

QuantMode parse_quant_mode(std::string_view name, std::string_view where, std::string_view argument) {
  return names::parse<QuantMode>(name, kModeNames, where, argument);
}

}  // namespace fp4moe
