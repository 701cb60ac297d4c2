// One way for every test to build a MoeConfig: the sizes in the order the spec names them, the
// activation and mode defaulted to the common case. Tests set anything else (expert parallelism,
// clamp limits) on the result.
#pragma once
#include "fp4moe/moe/config.h"

namespace fp4moe::testing {

inline MoeConfig make_config(int experts, int hidden, int intermediate, int top_k, int max_tokens,
                             Activation activation = Activation::kSilu, QuantMode mode = QuantMode::kW4A16) {
  MoeConfig c;
  c.num_experts = experts;
  c.hidden = hidden;
  c.intermediate = intermediate;
  c.top_k = top_k;
  c.max_tokens = max_tokens;
  c.activation.kind = activation;
  c.mode = mode;
  return c;
}

}  // namespace fp4moe::testing
