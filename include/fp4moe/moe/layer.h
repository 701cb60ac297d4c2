// The MoE layer API: create a layer for a backend, upload each local expert's NVFP4 weights in
// the checkpoint layout (any private repacking happens here, once), then run forward() as often
// as needed. On the CUDA backend forward() allocates nothing, never waits for the host and can be
// captured in a CUDA graph; every buffer it gets is device memory and `stream` a cudaStream_t.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fp4moe/format/bf16.h"
#include "fp4moe/format/scale_layout.h"
#include "fp4moe/moe/config.h"

namespace fp4moe {

enum class Backend : uint8_t { kCpu, kCuda };

// One NVFP4 weight matrix [rows, cols] in the checkpoint convention (spec section 2):
// w = e2m1(q) * e4m3(scale) * scale_2. Host memory.
//
// `bias`, where a model has one (gpt-oss's experts do), is added to the projection's FP32 outputs
// after scale_2: gate and up before the activation, down before the top-k weight multiplies it
// (y_pair = W2 h + b2, out = sum of weight * y_pair), as the model computes it. Null: no bias.
struct Nvfp4WeightView {
  const uint8_t* packed = nullptr;  // [rows, cols/2], element 2i in the low nibble
  const uint8_t* scales = nullptr;  // E4M3, [rows, cols/16] linear or swizzled 128x4
  ScaleLayout scale_layout = ScaleLayout::kLinear;
  float scale_2 = 1.0f;         // ModelOpt weight_scale_2 = amax / (6*448)
  const float* bias = nullptr;  // [rows], finite, or null
};

// One expert: gate and up [I, H] (each with its own scale_2, kept exact), down [H, I].
struct ExpertWeightsView {
  Nvfp4WeightView gate;
  Nvfp4WeightView up;
  Nvfp4WeightView down;
};

// A fused w13 [2I, H] (gate rows then up rows) in the linear layout, viewed as gate and up; its
// bias, if any, [2I] in the same order.
ExpertWeightsView split_fused_w13(const uint8_t* w13_packed, const uint8_t* w13_scales, float gate_scale_2,
                                  float up_scale_2, int intermediate, int hidden, const Nvfp4WeightView& down,
                                  const float* w13_bias = nullptr);

struct ForwardArgs {
  int num_tokens = 0;                 // T, 0 <= T <= config.max_tokens
  const bf16* x = nullptr;            // [T, H]
  const int32_t* topk_ids = nullptr;  // [T, k]; ids outside the local range or < 0 contribute nothing
  const float* topk_weights = nullptr;  // [T, k]
  bf16* out = nullptr;                // [T, H], every element written
};

struct BackendOptions {
  int cpu_threads = 0;  // CPU backend: 0 = std::thread::hardware_concurrency()
  int cuda_device = -1;  // CUDA backend: -1 = the current device
};

class MoeLayer {
 public:
  virtual ~MoeLayer() = default;
  MoeLayer(const MoeLayer&) = delete;
  MoeLayer& operator=(const MoeLayer&) = delete;

  const MoeConfig& config() const { return config_; }
  virtual Backend backend() const = 0;

  // Uploads local expert `local_expert` (0-based within the local range). Every local expert
  // must be loaded before forward(). A projection's null bias is a zero one: the layer adds biases
  // once any expert has one, and an expert loaded again without them loses its old ones.
  virtual void load_expert(int local_expert, const ExpertWeightsView& weights) = 0;

  // W4A4 only: the ModelOpt `input_scale` (calibrated amax / 2688) of GEMM 1's and GEMM 2's
  // inputs; the global scale used is 1 / input_scale. 0 (the default) means dynamic: the amax of
  // the tensor is computed on the device in the same forward, with no host sync. Dynamic costs the
  // CUDA backend an FP32 round trip of the intermediate through memory (its amax is known only when
  // GEMM 1 ends): 2-6% of a prefill layer on the benchmark shapes (python/README.md).
  virtual void set_input_scales(float gemm1_input_scale, float gemm2_input_scale) = 0;

  // Bytes of scratch forward() needs for batches of up to `max_tokens` tokens, in the backend's
  // memory space (host for kCpu, device for kCuda).
  //
  // The workspace holds nothing from one forward to the next and needs no initialization: a forward
  // sets every byte it reads first. So the MoE layers of a model can share one buffer of the largest
  // of their workspace_bytes, as long as their forwards never overlap (one stream, or streams
  // ordered by events); forwards that may run at the same time need buffers of their own.
  virtual size_t workspace_bytes(int max_tokens) const = 0;

  virtual void forward(const ForwardArgs& args, void* workspace, size_t workspace_size, void* stream) = 0;

 protected:
  explicit MoeLayer(const MoeConfig& config) : config_(config) {}
  MoeConfig config_;
};

// Validates the config and creates a layer. kCuda throws when the library was built without
// CUDA or no device is present.
std::unique_ptr<MoeLayer> make_moe_layer(const MoeConfig& config, Backend backend,
                                         const BackendOptions& options = {});

// True when the library has the CUDA backend and a device is visible.
bool cuda_backend_available();

}  // namespace fp4moe
