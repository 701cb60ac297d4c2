// Backend selection and the checks every backend shares.
#include "fp4moe/moe/layer.h"

#include <cmath>
#include <string>

#include "fp4moe/error.h"
#include "fp4moe/format/nvfp4.h"
#include "moe/backends.h"

namespace fp4moe {

bool cuda_backend_available() {
#if FP4MOE_WITH_CUDA
  return cuda_device_count() > 0;
#else
  return false;
#endif
}

std::unique_ptr<MoeLayer> make_moe_layer(const MoeConfig& config, Backend backend, const BackendOptions& options) {
  validate(config);
  if (backend == Backend::kCpu) return make_cpu_moe_layer(config, options);
#if FP4MOE_WITH_CUDA
  const int devices = cuda_device_count();
  require(devices > 0, "make_moe_layer", "backend", "a visible CUDA device for Backend::kCuda", "none found");
  require(options.cuda_device >= -1 && options.cuda_device < devices, "make_moe_layer", "options.cuda_device",
          "-1 (the current device) or one of the " + std::to_string(devices) + " visible devices, 0.." +
              std::to_string(devices - 1),
          options.cuda_device);
  return make_cuda_moe_layer(config, options);
#else
  require(false, "make_moe_layer", "backend", "Backend::kCpu (this build has no CUDA backend)", "Backend::kCuda");
  return nullptr;
#endif
}

void validate_weight_view(const Nvfp4WeightView& view, const char* where, const std::string& what) {
  require(view.packed != nullptr, where, what + ".packed", "a non-null pointer", "null");
  require(view.scales != nullptr, where, what + ".scales", "a non-null pointer", "null");
  require(std::isfinite(view.scale_2) && view.scale_2 > 0.0f, where, what + ".scale_2",
          "a finite positive weight_scale_2", std::to_string(view.scale_2));
  const int layout = int(view.scale_layout);
  require(layout == int(ScaleLayout::kLinear) || layout == int(ScaleLayout::kSwizzled128x4), where,
          what + ".scale_layout", "ScaleLayout::kLinear or ScaleLayout::kSwizzled128x4", layout);
}

void validate_bias(const Nvfp4WeightView& view, int64_t rows, const std::string& what) {
  if (!view.bias) return;
  for (int64_t r = 0; r < rows; ++r)
    require(std::isfinite(view.bias[r]), "load_expert", what + ".bias", "finite values",
            "a non-finite value at row " + std::to_string(r));
}

void require_valid_block_scales(bool valid, const std::string& what) {
  require(valid, "load_expert", what + ".scales", "E4M3 block scales >= 0 and not NaN", "a NaN or negative scale");
}

void validate_token_count(const MoeConfig& config, int num_tokens, const char* where) {
  require(num_tokens >= 0 && num_tokens <= config.max_tokens, where, "args.num_tokens",
          "0..max_tokens (" + std::to_string(config.max_tokens) + ")", num_tokens);
}

void validate_input_pointers(const ForwardArgs& args, const char* where, const char* pointer) {
  require(args.x != nullptr, where, "args.x", pointer, "null");
  require(args.topk_ids != nullptr, where, "args.topk_ids", pointer, "null");
  require(args.topk_weights != nullptr, where, "args.topk_weights", pointer, "null");
}

void validate_input_scale(float scale, const char* argument) {
  require(std::isfinite(scale) && (scale == 0.0f || (scale > 0.0f && 1.0f / scale <= kMaxGlobalScale)),
          "set_input_scales", argument, "0 (dynamic) or a finite positive input_scale >= 2^-118",
          std::to_string(scale));
}

ExpertWeightsView split_fused_w13(const uint8_t* w13_packed, const uint8_t* w13_scales, float gate_scale_2,
                                  float up_scale_2, int intermediate, int hidden, const Nvfp4WeightView& down,
                                  const float* w13_bias) {
  require(w13_packed != nullptr, "split_fused_w13", "w13_packed", "a non-null pointer", "null");
  require(w13_scales != nullptr, "split_fused_w13", "w13_scales", "a non-null pointer", "null");
  require(hidden > 0 && hidden % 16 == 0, "split_fused_w13", "hidden", "a positive multiple of 16", hidden);
  require(intermediate > 0, "split_fused_w13", "intermediate", "a positive size", intermediate);
  const size_t up_row = size_t(intermediate);
  ExpertWeightsView w;
  w.gate = {w13_packed, w13_scales, ScaleLayout::kLinear, gate_scale_2, w13_bias};
  w.up = {w13_packed + up_row * size_t(hidden / 2), w13_scales + up_row * size_t(hidden / 16), ScaleLayout::kLinear,
          up_scale_2, w13_bias ? w13_bias + up_row : nullptr};
  w.down = down;
  return w;
}

}  // namespace fp4moe
