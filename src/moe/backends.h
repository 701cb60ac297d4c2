// The backends behind make_moe_layer(). Internal.
#pragma once
#include <memory>

#include "fp4moe/moe/layer.h"

namespace fp4moe {

std::unique_ptr<MoeLayer> make_cpu_moe_layer(const MoeConfig& config, const BackendOptions& options);

#if FP4MOE_WITH_CUDA
std::unique_ptr<MoeLayer> make_cuda_moe_layer(const MoeConfig& config, const BackendOptions& options);
int cuda_device_count();  // 0 when no driver or device
#endif

// Checks one weight view of an expert (non-null pointers, finite positive scale_2) and throws an
// Error naming `what` (e.g. "expert 3 gate") otherwise. Shared by every backend's load_expert().
void validate_weight_view(const Nvfp4WeightView& view, const char* where, const std::string& what);

// A view's bias, where it has one, must hold `rows` finite values; throws naming `what` otherwise.
void validate_bias(const Nvfp4WeightView& view, int64_t rows, const std::string& what);

// Block scales must be finite and non-negative E4M3 (format/nvfp4.h's is_valid_block_scale); a
// backend that found another in `what` (e.g. "expert 3 gate") rejects the expert with this.
void require_valid_block_scales(bool valid, const std::string& what);

// What every forward checks of its arguments, in this order around the backend's own checks: the token
// count within 0..max_tokens, then, for a batch of tokens, x, topk_ids and topk_weights set (`pointer`:
// what they must be, "a non-null pointer" or "a non-null device pointer"). Both throw naming `where`.
void validate_token_count(const MoeConfig& config, int num_tokens, const char* where);
void validate_input_pointers(const ForwardArgs& args, const char* where, const char* pointer);

// set_input_scales(): 0 (dynamic) or a finite positive input_scale whose inverse stays within
// kMaxGlobalScale (format/nvfp4.h).
void validate_input_scale(float scale, const char* argument);

}  // namespace fp4moe
