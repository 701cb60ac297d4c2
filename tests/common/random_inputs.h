// Random activations and routings for tests and tools: Gaussian BF16 hidden states and top-k
// choices (uniform, skewed, all on one expert), plus dropped (-1) and out-of-local-range ids.
#pragma once
#include <cstdint>
#include <vector>

#include "common/rng.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/config.h"

namespace fp4moe::testing {

// n values ~ N(0, scale^2), rounded to BF16.
std::vector<bf16> random_bf16(size_t n, Rng& rng, double scale = 1.0);

struct Routing {
  int num_tokens = 0;
  int top_k = 0;
  std::vector<int32_t> ids;     // [T, k]
  std::vector<float> weights;   // [T, k], in [0.1, 1)
};

// Every token picks k distinct experts of [0, num_experts) uniformly.
Routing uniform_routing(int num_tokens, int num_experts, int top_k, Rng& rng);
// The first half of the tokens prefer experts 0..3 (k distinct, the rest uniform when k > 4),
// the other half is uniform: the benchmark's skewed case.
Routing skewed_routing(int num_tokens, int num_experts, int top_k, Rng& rng);
// Slot 0 of every token is `expert`, the other slots are -1.
Routing single_expert_routing(int num_tokens, int top_k, int expert, Rng& rng);
// Expert first_expert + i receives exactly rows[i] tokens (each at most num_tokens), consecutive
// tokens taken in turn from where the previous expert's ended, wrapping around; the other slots
// are -1. The rows must add up to at most num_tokens * top_k.
Routing rows_per_expert_routing(int num_tokens, int top_k, int first_expert, const std::vector<int>& rows, Rng& rng);
// Replaces about `fraction` of the slots by -1 or, when the config has experts outside its local
// range, by one of those: slots that must contribute nothing.
void drop_some(Routing& routing, const MoeConfig& config, double fraction, Rng& rng);

// Number of distinct local experts the routing sends at least one token to.
int touched_local_experts(const Routing& routing, const MoeConfig& config);

}  // namespace fp4moe::testing
