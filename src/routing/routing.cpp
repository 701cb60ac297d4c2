// Router logits -> (topk_ids, topk_weights), spec section 5. Every selection orders experts by
// (score descending, id ascending), so equal scores always pick the lower expert id and the result
// is the same on every backend. Token rows are independent and split over threads.
#include "fp4moe/routing/routing.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fp4moe/error.h"
#include "routing/routing_args.h"
#include "util/names.h"
#include "util/parallel.h"

namespace fp4moe {
namespace {

constexpr const char* kWhere = "route";
constexpr std::string_view kMethodNames[] = {"softmax_topk", "topk_softmax", "sigmoid_grouped_topk", "topk_sigmoid"};

// True when expert a (score sa) ranks before expert b (score sb).
bool ranks_before(float sa, int a, float sb, int b) { return sa > sb || (sa == sb && a < b); }

// Writes the indices of the k best entries of score[0..n) for which keep(i) holds, best first.
template <class Keep>
void top_k_indices(const float* score, int n, int k, Keep keep, int* chosen) {
  int count = 0;
  for (int i = 0; i < n; ++i) {
    if (!keep(i)) continue;
    // Insertion into a sorted list of at most k entries: k is small (<= a few dozen).
    int pos = std::min(count, k);
    while (pos > 0 && ranks_before(score[i], i, score[chosen[pos - 1]], chosen[pos - 1])) {
      if (pos < k) chosen[pos] = chosen[pos - 1];
      --pos;
    }
    if (pos < k) chosen[pos] = i;
    count = std::min(count + 1, k);
  }
}

// NaN or +Inf logits have no meaningful ranking, and a row of only -inf has no softmax: reject
// them instead of routing on garbage. -inf alone is a mask and allowed.
void check_logits(const float* logits, int num_tokens, int num_experts) {
  for (int t = 0; t < num_tokens; ++t) {
    bool any_finite = false;
    for (int e = 0; e < num_experts; ++e) {
      const float v = logits[int64_t(t) * num_experts + e];
      any_finite |= std::isfinite(v);
      if (!std::isnan(v) && v != INFINITY) continue;
      require(false, kWhere, "logits", "finite values or -inf",
              std::string(std::isnan(v) ? "NaN" : "+inf") + " at [" + std::to_string(t) + ", " + std::to_string(e) +
                  "]");
    }
    require(any_finite, kWhere, "logits", "at least one finite value per token",
            "only -inf in row " + std::to_string(t));
  }
}

void softmax_topk(const float* logits, int n, const RoutingParams& p, int* chosen, float* weights) {
  const float m = *std::max_element(logits, logits + n);
  std::vector<float> prob(static_cast<size_t>(n));
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += prob[size_t(i)] = std::exp(logits[i] - m);
  for (int i = 0; i < n; ++i) prob[size_t(i)] = float(prob[size_t(i)] / sum);
  top_k_indices(prob.data(), n, p.top_k, [](int) { return true; }, chosen);
  double chosen_sum = 0.0;
  for (int j = 0; j < p.top_k; ++j) chosen_sum += prob[size_t(chosen[j])];
  for (int j = 0; j < p.top_k; ++j)
    weights[j] = p.renormalize ? float(prob[size_t(chosen[j])] / chosen_sum) : prob[size_t(chosen[j])];
}

void topk_softmax(const float* logits, int n, const RoutingParams& p, int* chosen, float* weights) {
  top_k_indices(logits, n, p.top_k, [](int) { return true; }, chosen);
  const float m = logits[chosen[0]];  // the largest chosen logit
  double sum = 0.0;
  for (int j = 0; j < p.top_k; ++j) sum += std::exp(double(logits[chosen[j]] - m));
  for (int j = 0; j < p.top_k; ++j) weights[j] = float(std::exp(double(logits[chosen[j]] - m)) / sum);
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Llama-4: the k largest logits, each weighted by its own sigmoid (no normalization over the k).
void topk_sigmoid(const float* logits, int n, const RoutingParams& p, int* chosen, float* weights) {
  top_k_indices(logits, n, p.top_k, [](int) { return true; }, chosen);
  for (int j = 0; j < p.top_k; ++j) weights[j] = sigmoid(logits[chosen[j]]);
}

// DeepSeek-V3: groups ranked by the sum of their two best biased scores (the one score when a group
// has a single expert), the best topk_group groups kept, top-k of the biased scores among them,
// weights the unbiased sigmoid renormalised and scaled.
void sigmoid_grouped_topk(const float* logits, int n, const RoutingParams& p, int* chosen, float* weights) {
  std::vector<float> s(static_cast<size_t>(n)), biased(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    s[size_t(i)] = sigmoid(logits[i]);
    biased[size_t(i)] = s[size_t(i)] + (p.correction_bias ? p.correction_bias[i] : 0.0f);
  }
  const int group_size = n / p.num_groups;
  std::vector<float> group_score(static_cast<size_t>(p.num_groups));
  int best2[2];
  for (int g = 0; g < p.num_groups; ++g) {
    const int take = std::min(2, group_size);
    top_k_indices(biased.data() + size_t(g) * group_size, group_size, take, [](int) { return true; }, best2);
    float score = 0.0f;
    for (int j = 0; j < take; ++j) score += biased[size_t(g * group_size + best2[j])];
    group_score[size_t(g)] = score;
  }
  std::vector<int> kept_groups(static_cast<size_t>(p.topk_group));
  top_k_indices(group_score.data(), p.num_groups, p.topk_group, [](int) { return true; }, kept_groups.data());
  std::vector<char> group_kept(static_cast<size_t>(p.num_groups), 0);
  for (int g : kept_groups) group_kept[size_t(g)] = 1;
  top_k_indices(biased.data(), n, p.top_k, [&](int i) { return group_kept[size_t(i / group_size)] != 0; }, chosen);
  double sum = 0.0;
  for (int j = 0; j < p.top_k; ++j) sum += s[size_t(chosen[j])];
  if (sum == 0.0) sum = 1.0;  // every chosen sigmoid underflowed: weights 0 rather than NaN
  for (int j = 0; j < p.top_k; ++j)
    weights[j] = float(double(s[size_t(chosen[j])]) / sum * double(p.routed_scaling_factor));
}

}  // namespace

void check_routing_args(const float* logits, int num_tokens, int num_experts, const RoutingParams& p,
                        const int32_t* topk_ids, const float* topk_weights, const char* where) {
  require(num_tokens >= 0, where, "num_tokens", "a non-negative count", num_tokens);
  require(num_experts > 0, where, "num_experts", "a positive count", num_experts);
  require(p.top_k >= 1 && p.top_k <= num_experts,
          where, "params.top_k", "1..num_experts (" + std::to_string(num_experts) + ")", p.top_k);
  const int method = int(p.method);
  require(method >= 0 && method <= int(RoutingMethod::kTopkSigmoid), where, "params.method",
          "kSoftmaxTopk, kTopkSoftmax, kSigmoidGroupedTopk or kTopkSigmoid", method);
  if (num_tokens > 0) {
    require(logits != nullptr, where, "logits", "a non-null pointer", "null");
    require(topk_ids != nullptr, where, "topk_ids", "a non-null pointer", "null");
    require(topk_weights != nullptr, where, "topk_weights", "a non-null pointer", "null");
  }
  if (p.method != RoutingMethod::kSigmoidGroupedTopk) return;
  require(p.num_groups >= 1 && num_experts % p.num_groups == 0, where, "params.num_groups",
          "a divisor of num_experts (" + std::to_string(num_experts) + ")", p.num_groups);
  require(p.topk_group >= 1 && p.topk_group <= p.num_groups, where, "params.topk_group",
          "1..num_groups (" + std::to_string(p.num_groups) + ")", p.topk_group);
  const int selectable = p.topk_group * (num_experts / p.num_groups);
  require(p.top_k <= selectable, where, "params.top_k",
          "at most topk_group * experts per group (" + std::to_string(selectable) + ")", p.top_k);
  require(std::isfinite(p.routed_scaling_factor), where, "params.routed_scaling_factor", "a finite value",
          std::to_string(p.routed_scaling_factor));
}

std::string_view to_string(RoutingMethod method) { return names::of(method, kMethodNames); }

RoutingMethod parse_routing_method(std::string_view name, std::string_view where, std::string_view argument) {
  return names::parse<RoutingMethod>(name, kMethodNames, where, argument);
}

void route(const float* logits, int num_tokens, int num_experts, const RoutingParams& params, int32_t* topk_ids,
           float* topk_weights) {
  check_routing_args(logits, num_tokens, num_experts, params, topk_ids, topk_weights, kWhere);
  if (num_tokens == 0) return;
  check_logits(logits, num_tokens, num_experts);
  if (params.method == RoutingMethod::kSigmoidGroupedTopk && params.correction_bias)
    for (int i = 0; i < num_experts; ++i)
      require(std::isfinite(params.correction_bias[i]), kWhere, "params.correction_bias",
              "finite values", "a non-finite value at [" + std::to_string(i) + "]");
  const int k = params.top_k;
  const int threads = int64_t(num_tokens) * num_experts >= (1 << 16) ? 0 : 1;
  parallel_for(num_tokens, threads, [&](int64_t begin, int64_t end) {
    std::vector<int> chosen(static_cast<size_t>(k));
    for (int64_t t = begin; t < end; ++t) {
      const float* row = logits + t * num_experts;
      float* w = topk_weights + t * k;
      switch (params.method) {
        case RoutingMethod::kSoftmaxTopk:
          softmax_topk(row, num_experts, params, chosen.data(), w);
          break;
        case RoutingMethod::kTopkSoftmax:
          topk_softmax(row, num_experts, params, chosen.data(), w);
          break;
        case RoutingMethod::kSigmoidGroupedTopk:
          sigmoid_grouped_topk(row, num_experts, params, chosen.data(), w);
          break;
        case RoutingMethod::kTopkSigmoid:
          topk_sigmoid(row, num_experts, params, chosen.data(), w);
          break;
      }
      for (int j = 0; j < k; ++j) topk_ids[t * k + j] = chosen[size_t(j)];
    }
  });
}

#if !FP4MOE_WITH_CUDA
void route_on_device(const float*, int, int, const RoutingParams&, int32_t*, float*, void*) {
  require(false, "route_on_device", "backend", "a build with the CUDA backend (FP4MOE_CUDA=ON)",
          "a CPU-only build");
}
#endif

}  // namespace fp4moe
