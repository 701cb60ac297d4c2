// The layer behind fp4moe.MoeLayer: creation on a device, stacked weight upload (one load_expert
// per local expert, with the experts' biases where given) and the checked forward. The GIL is
// released while a forward runs.
#include "bindings/layer_binding.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "bindings/device_guard.h"
#include "fp4moe/error.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/reference.h"

namespace fp4moe::bindings {
namespace {

// Byte `offset` of a checked array's data.
const uint8_t* bytes_at(const InArray& a, int64_t offset) { return static_cast<const uint8_t*>(a.data()) + offset; }

float float_at(const InArray& a, int64_t i) { return static_cast<const float*>(a.data())[i]; }

// An optional stacked bias: float32 [experts, rows] on the host, every value finite (checked here, for
// all experts before the first is loaded, so that a bad value names its place in the stacked array).
// Returns its data, or null where there is none.
const float* checked_bias(const std::optional<InArray>& bias, const char* where, const char* name, int64_t experts,
                          int64_t rows) {
  if (!bias) return nullptr;
  checked(*bias, where, name, {Elem::kF32, {experts, rows}, Place::host()});
  const float* values = static_cast<const float*>(bias->data());
  for (int64_t k = 0; k < experts * rows; ++k) {
    if (std::isfinite(values[k])) continue;
    require(false, where, name, "finite values",
            std::to_string(values[k]) + " at [" + std::to_string(k / rows) + ", " + std::to_string(k % rows) + "]");
  }
  return values;
}

}  // namespace

LayerBinding::LayerBinding(const LayerSpec& spec) {
  if (spec.backend == Backend::kCuda) device_ = checked_cuda_device(spec.cuda_device, "MoeLayer");
  DeviceGuard guard(device_);
  BackendOptions options;
  options.cpu_threads = spec.cpu_threads;
  options.cuda_device = device_;
  layer_ = make_moe_layer(spec.config, spec.backend, options);
  workspace_bytes_ = layer_->workspace_bytes(spec.config.max_tokens);
  workspace_ = spec.workspace ? spec.workspace : std::make_shared<SharedWorkspace>(spec.backend, device_);
  workspace_->reserve(workspace_bytes_, spec.backend, device_, "MoeLayer");
}

LayerBinding::~LayerBinding() {
  // Free device memory with the layer's device current, whatever Python has current now.
  DeviceGuard guard(device_);
  layer_.reset();
}

void LayerBinding::load_weights(const StackedWeights& w) {
  static constexpr const char* kWhere = "MoeLayer.load_weights";
  const MoeConfig& c = config();
  const int64_t e = c.num_local_experts(), h = c.hidden, i = c.intermediate;
  const Place host = Place::host();
  // A CUDA layer copies the codes and scales from host memory or straight from its own device
  // (load_expert stages them with cudaMemcpyDefault), so weights already on the GPU skip a round
  // trip through the host. The global scales are read here, on the host. Swizzled w13 scales are
  // unswizzled on the host (below), so they must be there.
  const Place weights = is_cuda() ? Place::host_or_cuda_device(device_) : host;
  const bool swizzled = w.scale_layout == ScaleLayout::kSwizzled128x4;
  checked(w.w13, kWhere, "w13", {Elem::kU8, {e, 2 * i, h / 2}, weights});
  checked(w.w2, kWhere, "w2", {Elem::kU8, {e, h, i / 2}, weights});
  // Swizzled scales may come in any shape that holds the padded tiles of each expert.
  const int64_t w13_scale_bytes = scale_bytes(w.scale_layout, 2 * i, h);
  const int64_t w2_scale_bytes = scale_bytes(w.scale_layout, h, i);
  if (swizzled) {
    checked(w.w13_scale, kWhere, "w13_scale", {Elem::kU8, {}, host, e * w13_scale_bytes});
    checked(w.w2_scale, kWhere, "w2_scale", {Elem::kU8, {}, weights, e * w2_scale_bytes});
  } else {
    checked(w.w13_scale, kWhere, "w13_scale", {Elem::kU8, {e, 2 * i, h / 16}, weights});
    checked(w.w2_scale, kWhere, "w2_scale", {Elem::kU8, {e, h, i / 16}, weights});
  }
  checked(w.w13_gate_scale_2, kWhere, "w13_scale_2 (gate)", {Elem::kF32, {e}, host});
  checked(w.w13_up_scale_2, kWhere, "w13_scale_2 (up)", {Elem::kF32, {e}, host});
  checked(w.w2_scale_2, kWhere, "w2_scale_2", {Elem::kF32, {e}, host});
  const float* w13_bias = checked_bias(w.w13_bias, kWhere, "w13_bias", e, 2 * i);
  const float* w2_bias = checked_bias(w.w2_bias, kWhere, "w2_bias", e, h);

  DeviceGuard guard(device_);
  // The fused w13 splits into gate and up views only in the linear layout (a swizzled tile spans
  // both halves when I is not a multiple of 128), so swizzled w13 scales are unswizzled first.
  std::vector<uint8_t> w13_linear(swizzled ? size_t(2 * i * (h / 16)) : 0);
  for (int64_t x = 0; x < e; ++x) {
    const uint8_t* w13_scales = bytes_at(w.w13_scale, x * w13_scale_bytes);
    if (swizzled) {
      unswizzle_scales(w13_scales, 2 * i, h, w13_linear.data());
      w13_scales = w13_linear.data();
    }
    const Nvfp4WeightView down{bytes_at(w.w2, x * h * (i / 2)), bytes_at(w.w2_scale, x * w2_scale_bytes),
                               w.scale_layout, float_at(w.w2_scale_2, x), w2_bias ? w2_bias + x * h : nullptr};
    const ExpertWeightsView view =
        split_fused_w13(bytes_at(w.w13, x * 2 * i * (h / 2)), w13_scales, float_at(w.w13_gate_scale_2, x),
                        float_at(w.w13_up_scale_2, x), int(i), int(h), down,
                        w13_bias ? w13_bias + x * 2 * i : nullptr);
    layer_->load_expert(int(x), view);
  }
  weights_loaded_ = true;
}

void LayerBinding::load_checkpoint(const MoeCheckpoint& checkpoint, int layer, TensorParallelShard shard) {
  DeviceGuard guard(device_);
  load_moe_layer(checkpoint, layer, *layer_, shard);
  weights_loaded_ = true;
}

void LayerBinding::set_input_scales(float gemm1_input_scale, float gemm2_input_scale) {
  DeviceGuard guard(device_);
  layer_->set_input_scales(gemm1_input_scale, gemm2_input_scale);
}

ForwardArgs LayerBinding::forward_args(const InArray& x, const InArray& topk_weights, const InArray& topk_ids,
                                       const char* where, const Place& where_arrays) const {
  const MoeConfig& c = config();
  require(weights_loaded_, where, "weights", "load_weights() to have been called before a forward", "none loaded");
  const ArrayInfo xi = checked(x, where, "hidden_states", {Elem::kBf16, {-1, c.hidden}, where_arrays});
  const int64_t t = xi.shape[0];
  require(t <= c.max_tokens, where, "hidden_states",
          "at most max_tokens=" + std::to_string(c.max_tokens) + " rows (the layer's workspace size)", t);
  checked(topk_weights, where, "topk_weights", {Elem::kF32, {t, c.top_k}, where_arrays});
  const ArrayInfo ids = describe(topk_ids);
  require(!(ids.dtype.code == uint8_t(nb::dlpack::dtype_code::Int) && ids.dtype.bits == 64), where, "topk_ids",
          "int32 elements (convert int64 ids with .to(torch.int32) or .astype(numpy.int32))", "int64");
  check_array(ids, where, "topk_ids", {Elem::kI32, {t, c.top_k}, where_arrays});
  ForwardArgs args;
  args.num_tokens = int(t);
  args.x = static_cast<const bf16*>(x.data());
  args.topk_weights = static_cast<const float*>(topk_weights.data());
  args.topk_ids = static_cast<const int32_t*>(topk_ids.data());
  return args;
}

void LayerBinding::run(const InArray& x, const InArray& topk_weights, const InArray& topk_ids, const OutArray& out,
                       uintptr_t stream) {
  static constexpr const char* kWhere = "MoeLayer.run";
  ForwardArgs args = forward_args(x, topk_weights, topk_ids, kWhere, place());
  checked(out, kWhere, "out", {Elem::kBf16, {args.num_tokens, config().hidden}, place()});
  args.out = static_cast<bf16*>(out.data());
  if (args.num_tokens == 0) return;  // nothing to write; empty tensors may carry null pointers
  void* const cuda_stream = is_cuda() ? reinterpret_cast<void*>(stream) : nullptr;
  void* const workspace = workspace_->use(workspace_bytes_);
  nb::gil_scoped_release release;
  DeviceGuard guard(device_);
  layer_->forward(args, workspace, workspace_bytes_, cuda_stream);
}

nb::ndarray<nb::numpy, double> LayerBinding::reference_forward(const InArray& x, const InArray& topk_weights,
                                                               const InArray& topk_ids) const {
  static constexpr const char* kWhere = "reference_forward";
  require(!is_cuda(), kWhere, "layer", "a layer built with device=\"cpu\"", "a CUDA layer");
  const ForwardArgs args = forward_args(x, topk_weights, topk_ids, kWhere, Place::host());
  auto out = new_numpy<double>({size_t(args.num_tokens), size_t(config().hidden)});
  if (args.num_tokens == 0) return out;
  nb::gil_scoped_release release;
  reference_forward_f64(*layer_, args, out.data());
  return out;
}

}  // namespace fp4moe::bindings
