// Routing helpers of spec section 5, on the host and on a CUDA device, and Llama-4's (topk_sigmoid,
// beyond the spec's three). Engines usually pass top-k in; these turn router logits into (topk_ids,
// topk_weights). Ties break toward the lower expert id.
#pragma once
#include <cstdint>
#include <string_view>

namespace fp4moe {

enum class RoutingMethod : uint8_t {
  kSoftmaxTopk,         // p = softmax(logits); top-k of p; optional renormalisation
  kTopkSoftmax,         // top-k of logits; softmax over the k chosen (gpt-oss)
  kSigmoidGroupedTopk,  // DeepSeek-V3: sigmoid, biased group selection, unbiased weights
  kTopkSigmoid,         // top-k of logits; each weight the sigmoid of its logit (Llama-4, which applies it to
                        // the layer's input: see the README's Llama-4 section)
};

struct RoutingParams {
  RoutingMethod method = RoutingMethod::kSoftmaxTopk;
  int top_k = 0;
  bool renormalize = false;               // kSoftmaxTopk
  int num_groups = 1;                     // kSigmoidGroupedTopk
  int topk_group = 1;                     // kSigmoidGroupedTopk: groups kept
  float routed_scaling_factor = 1.0f;     // kSigmoidGroupedTopk
  const float* correction_bias = nullptr;  // kSigmoidGroupedTopk: [num_experts] or null
};

// The methods' names ("softmax_topk", "topk_softmax", "sigmoid_grouped_topk", "topk_sigmoid"), and their parse,
// which throws naming `where` and `argument` and listing the names for anything else.
std::string_view to_string(RoutingMethod method);
RoutingMethod parse_routing_method(std::string_view name, std::string_view where = "parse_routing_method",
                                   std::string_view argument = "name");

// logits [T, num_experts] -> topk_ids [T, k], topk_weights [T, k] (host memory).
void route(const float* logits, int num_tokens, int num_experts, const RoutingParams& params, int32_t* topk_ids,
           float* topk_weights);

// The experts route_on_device() takes at most: a token's scores live in a warp's shared memory.
inline constexpr int kMaxDeviceRoutingExperts = 1024;

// route() on the current CUDA device, for engines that route there: logits, params.correction_bias,
// topk_ids and topk_weights in that device's memory; one kernel on `stream` (a cudaStream_t; null is
// the legacy default stream), no host sync and no allocation, so it is captured in a CUDA graph with
// the forward it feeds; on Hopper launched as the forward's kernels are (programmatic dependent
// launch), so that the forward's first kernel becomes resident while it runs. The selection is
// route()'s and the weights agree with route()'s to a few ulps (the exponentials are the device's).
// The arguments are checked as route() checks them; the values behind the pointers are not (that
// would need a sync): a token whose logits hold NaN or +inf, or only -inf, or any token when a
// correction_bias holds a non-finite value, gets NaN weights, so that its output row turns NaN
// instead of a finite guess, and the ids 0..k-1. num_experts at most kMaxDeviceRoutingExperts.
// Throws in a build without the CUDA backend.
void route_on_device(const float* logits, int num_tokens, int num_experts, const RoutingParams& params,
                     int32_t* topk_ids, float* topk_weights, void* stream);

}  // namespace fp4moe
