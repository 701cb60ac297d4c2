// Random activations and routings (random_inputs.h).
#include "common/random_inputs.h"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace fp4moe::testing {
namespace {

// Fills slots [from, to) of token t with distinct experts of [0, num_experts) not already chosen.
void fill_distinct(Routing& r, int t, int from, int to, int num_experts, Rng& rng) {
  int32_t* ids = r.ids.data() + size_t(t) * r.top_k;
  for (int j = from; j < to; ++j) {
    int32_t e;
    do e = rng.below(num_experts);
    while (std::find(ids, ids + j, e) != ids + j);
    ids[j] = e;
  }
}

Routing empty_routing(int num_tokens, int top_k, Rng& rng) {
  Routing r;
  r.num_tokens = num_tokens;
  r.top_k = top_k;
  r.ids.assign(size_t(num_tokens) * top_k, -1);
  r.weights.resize(r.ids.size());
  for (float& w : r.weights) w = float(rng.uniform(0.1, 1.0));
  return r;
}

}  // namespace

std::vector<bf16> random_bf16(size_t n, Rng& rng, double scale) {
  std::vector<bf16> v(n);
  for (bf16& x : v) x = float_to_bf16(float(rng.normal() * scale));
  return v;
}

Routing uniform_routing(int num_tokens, int num_experts, int top_k, Rng& rng) {
  Routing r = empty_routing(num_tokens, top_k, rng);
  for (int t = 0; t < num_tokens; ++t) fill_distinct(r, t, 0, top_k, num_experts, rng);
  return r;
}

Routing skewed_routing(int num_tokens, int num_experts, int top_k, Rng& rng) {
  Routing r = empty_routing(num_tokens, top_k, rng);
  const int hot = std::min(4, num_experts);
  for (int t = 0; t < num_tokens; ++t) {
    const int from_hot = t < num_tokens / 2 ? std::min(top_k, hot) : 0;
    fill_distinct(r, t, 0, from_hot, hot, rng);
    fill_distinct(r, t, from_hot, top_k, num_experts, rng);
  }
  return r;
}

Routing single_expert_routing(int num_tokens, int top_k, int expert, Rng& rng) {
  Routing r = empty_routing(num_tokens, top_k, rng);
  for (int t = 0; t < num_tokens; ++t) r.ids[size_t(t) * top_k] = expert;
  return r;
}

Routing rows_per_expert_routing(int num_tokens, int top_k, int first_expert, const std::vector<int>& rows, Rng& rng) {
  Routing r = empty_routing(num_tokens, top_k, rng);
  std::vector<int> used(size_t(num_tokens), 0);  // slots filled per token
  int next = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] > num_tokens)
      throw std::invalid_argument("rows_per_expert_routing: an expert's rows exceed the tokens");
    for (int n = 0; n < rows[i]; ++n, next = (next + 1) % num_tokens) {
      // Turns through the tokens keep each token's slots filled evenly, so a token never takes one
      // expert twice (rows[i] <= num_tokens) and runs out of slots only past num_tokens * top_k rows.
      if (used[size_t(next)] == top_k) throw std::invalid_argument("rows_per_expert_routing: more rows than slots");
      r.ids[size_t(next) * top_k + used[size_t(next)]++] = first_expert + int(i);
    }
  }
  return r;
}

void drop_some(Routing& routing, const MoeConfig& config, double fraction, Rng& rng) {
  const int start = config.local_expert_start, end = start + config.num_local_experts();
  std::vector<int32_t> outside;
  for (int e = 0; e < config.num_experts; ++e)
    if (e < start || e >= end) outside.push_back(e);
  for (int32_t& id : routing.ids) {
    if (rng.uniform() >= fraction) continue;
    const bool use_outside = !outside.empty() && rng.uniform() < 0.5;
    id = use_outside ? outside[size_t(rng.below(int(outside.size())))] : -1;
  }
}

int touched_local_experts(const Routing& routing, const MoeConfig& config) {
  std::set<int32_t> touched;
  for (int32_t id : routing.ids)
    if (id >= config.local_expert_start && id < config.local_expert_start + config.num_local_experts())
      touched.insert(id);
  return int(touched.size());
}

}  // namespace fp4moe::testing
