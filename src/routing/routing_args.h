// The argument checks route() and route_on_device() share: counts, pointers and the method's
// parameters, never the values behind the pointers (the device router cannot read them without a
// sync). Internal.
#pragma once
#include <cstdint>

#include "fp4moe/routing/routing.h"

namespace fp4moe {

// Throws an Error naming `where` and the first argument that is out of its range.
void check_routing_args(const float* logits, int num_tokens, int num_experts, const RoutingParams& params,
                        const int32_t* topk_ids, const float* topk_weights, const char* where);

}  // namespace fp4moe
