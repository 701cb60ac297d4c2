// One MoE layer as Python sees it: the C++ layer, its workspace (reserved once for max_tokens, so
// that run() allocates nothing and can be captured in a CUDA graph; its own, or one shared with the
// model's other layers, shared_workspace.h) and the device it lives on. Weights arrive as stacked
// host arrays; run() takes arrays on the layer's device.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bindings/arrays.h"
#include "bindings/shared_workspace.h"
#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe::bindings {

struct LayerSpec {
  MoeConfig config;
  Backend backend = Backend::kCpu;
  int cuda_device = -1;  // -1: the current device at creation
  int cpu_threads = 0;
  std::shared_ptr<SharedWorkspace> workspace;  // null: the layer gets a workspace of its own
};

// The stacked checkpoint tensors of the local experts, all in host memory (spec section 2):
// w13 [E, 2I, H/2] gate rows then up rows, w2 [E, H, I/2], scales E4M3 bytes, scale_2 per expert;
// the optional expert biases in FP32 on the host, w13_bias [E, 2I] (gate then up) and w2_bias [E, H].
struct StackedWeights {
  InArray w13, w13_scale, w13_gate_scale_2, w13_up_scale_2;
  InArray w2, w2_scale, w2_scale_2;
  ScaleLayout scale_layout = ScaleLayout::kLinear;
  std::optional<InArray> w13_bias, w2_bias;  // none: zero biases
};

class LayerBinding {
 public:
  explicit LayerBinding(const LayerSpec& spec);
  ~LayerBinding();
  LayerBinding(const LayerBinding&) = delete;
  LayerBinding& operator=(const LayerBinding&) = delete;

  const MoeConfig& config() const { return layer_->config(); }
  bool is_cuda() const { return layer_->backend() == Backend::kCuda; }
  int cuda_device() const { return device_; }
  // What a forward of max_tokens needs of the workspace, which may be larger (shared).
  size_t workspace_bytes() const { return workspace_bytes_; }
  const std::shared_ptr<SharedWorkspace>& workspace() const { return workspace_; }
  bool weights_loaded() const { return weights_loaded_; }
  const MoeLayer& layer() const { return *layer_; }

  void load_weights(const StackedWeights& weights);
  // Layer `layer` of an open ModelOpt NVFP4 checkpoint (checkpoint/modelopt.h's load_moe_layer:
  // sizes checked against this layer's, every local expert validated before the first is loaded,
  // and in W4A4 the checkpoint's input scales when it has them), `shard`'s part of it.
  void load_checkpoint(const MoeCheckpoint& checkpoint, int layer, TensorParallelShard shard);
  void set_input_scales(float gemm1_input_scale, float gemm2_input_scale);

  // x [T, H] bf16, topk_weights [T, k] f32, topk_ids [T, k] i32, out [T, H] bf16, all on the layer's
  // device; `stream` is a cudaStream_t (0: the legacy default stream), ignored on the CPU.
  void run(const InArray& x, const InArray& topk_weights, const InArray& topk_ids, const OutArray& out,
           uintptr_t stream);

  // The float64 reference (spec section 4) on this layer's weights; CPU layers only. [T, H] doubles.
  nb::ndarray<nb::numpy, double> reference_forward(const InArray& x, const InArray& topk_weights,
                                                   const InArray& topk_ids) const;

 private:
  // Checks the routing and activation arrays of a forward and returns the ForwardArgs for them.
  ForwardArgs forward_args(const InArray& x, const InArray& topk_weights, const InArray& topk_ids,
                           const char* where, const Place& place) const;
  Place place() const { return is_cuda() ? Place::cuda_device(device_) : Place::host(); }

  int device_ = -1;
  std::unique_ptr<MoeLayer> layer_;
  size_t workspace_bytes_ = 0;
  std::shared_ptr<SharedWorkspace> workspace_;
  bool weights_loaded_ = false;
};

}  // namespace fp4moe::bindings
