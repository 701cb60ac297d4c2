// MoE layers of a Hugging Face checkpoint in NVIDIA ModelOpt's NVFP4 layout (spec section 2,
// "Checkpoint convention"), loaded straight into a MoeLayer. Per projection:
//   weight          U8      [N, K/2]   two E2M1 codes per byte, element 2i in the low nibble
//   weight_scale    F8_E4M3 [N, K/16]  linear block scales
//   weight_scale_2  F32     [] or [1]  amax / 2688 (gate and up may differ: kept exact, never averaged)
//   input_scale     F32     [] or [1]  calibrated activation amax / 2688 (optional)
// Tensor naming variants found by find_moe_layers():
//   per expert:  PREFIX.E.{gate_proj,up_proj,down_proj | w1,w3,w2 | gate_up_proj,down_proj | w13,w2}.SUFFIX
//   per layer:   PREFIX.{same projections}.SUFFIX or PREFIX.{proj}_SUFFIX (vLLM: experts.w13_weight), each
//                tensor with a leading expert dim [E, N, ...]; scale_2/input_scale [E] (or [] shared),
//                and for a fused gate_up also [E, 2] / [2] (gate, up)
// where PREFIX ends in ".experts" and contains ".layers.L." (e.g. model.layers.3.mlp.experts).
// A fused gate_up holds the gate rows then the up rows (spec section 4's W13). Hugging Face's bare
// BF16 parameters (experts.gate_up_proj [E, H, 2I], transposed) are reported as a layer problem.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fp4moe/checkpoint/model_config.h"
#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/moe/layer.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe {

enum class ExpertProjection : uint8_t { kGate, kUp, kDown };

// Where one MoE layer's tensors are and what their shapes say.
struct MoeLayerTensors {
  int layer = -1;
  std::string experts_prefix;                 // "model.layers.3.mlp.experts"
  bool fused_experts = false;                 // one tensor per projection with a leading expert dim
  bool fused_gate_up = false;                 // gate and up in one [2I, ...] tensor (gate rows first)
  char separator = '.';                       // between projection and suffix: "w13.weight" or "w13_weight"
  std::string gate_name, up_name, down_name;  // "gate_proj" / "w1" / "gate_up_proj" (gate == up when fused)
  int num_experts = 0;
  int hidden = 0;
  int intermediate = 0;
  bool nvfp4 = false;  // weights U8 (ModelOpt NVFP4); otherwise unquantized in weight_dtype
  DType weight_dtype = DType::kU8;
  bool has_input_scale = false;
  std::string router_weight;  // "model.layers.3.mlp.gate.weight"; empty when the checkpoint has none
  std::string router_bias;    // "...gate.e_score_correction_bias"; empty when absent
  int num_tensors = 0;        // under experts_prefix
  uint64_t bytes = 0;         // under experts_prefix
  std::string problem;        // why this layer cannot be loaded; empty when it can

  // The tensor holding `projection` of `expert` (for fused layouts: of every expert).
  std::string tensor_name(ExpertProjection projection, int expert, std::string_view suffix) const;
};

// Finds every MoE layer (tensors under "*.layers.L.*.experts.") in layer order.
std::vector<MoeLayerTensors> find_moe_layers(const SafetensorsCheckpoint& tensors);

// A checkpoint directory (config.json + safetensors, single or sharded) with its MoE layers.
class MoeCheckpoint {
 public:
  explicit MoeCheckpoint(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const MoeModelConfig& model() const { return model_; }
  const SafetensorsCheckpoint& tensors() const { return tensors_; }
  const std::vector<MoeLayerTensors>& moe_layers() const { return layers_; }
  // Throws listing the MoE layers there are.
  const MoeLayerTensors& moe_layer(int layer) const;

  // The MoeConfig of `layer`, its sizes checked between config.json and the tensors.
  MoeConfig moe_config(int layer, QuantMode mode = QuantMode::kW4A16, int max_tokens = 1) const;

 private:
  std::string dir_;
  MoeModelConfig model_;
  SafetensorsCheckpoint tensors_;
  std::vector<MoeLayerTensors> layers_;
};

// Views of every projection of one expert, pointing into the file mapping (no copy), after
// checking dtypes (U8 / F8_E4M3 / F32), shapes and that each weight_scale_2 is finite and positive.
// Throws naming the file and the tensor.
ExpertWeightsView expert_weights(const MoeCheckpoint& checkpoint, int layer, int expert);

// The ModelOpt input_scale of GEMM 1 (gate/up) and GEMM 2 (down), the max over the experts given
// (one scale per layer, as vLLM uses); 0 when the checkpoint has none.
struct InputScales {
  float gemm1 = 0.0f;
  float gemm2 = 0.0f;
};
InputScales input_scales(const MoeCheckpoint& checkpoint, int layer, int first_expert, int num_experts);

// Loads every local expert of `layer` (dst.config()'s local range) into `dst`, and in W4A4 the
// input scales when the checkpoint has them. All experts are validated before the first is
// loaded, so an error leaves `dst` untouched. `progress(done, total)` is called after each expert.
void load_moe_layer(const MoeCheckpoint& checkpoint, int layer, MoeLayer& dst,
                    const std::function<void(int, int)>& progress = {});

// The router of a MoE layer as float: weight [num_experts, hidden] and, when present, DeepSeek's
// e_score_correction_bias [num_experts]. `present` is false when the checkpoint has no router.
struct RouterWeights {
  bool present = false;
  int num_experts = 0;
  int hidden = 0;
  std::vector<float> weight;
  std::vector<float> bias;
};
RouterWeights read_router(const MoeCheckpoint& checkpoint, int layer);

// Reads a tensor of BF16, F16 or F32 as float (the checkpoint quantizer and router use it).
std::vector<float> read_float_tensor(const TensorView& view);

}  // namespace fp4moe
