// MoE layers of a Hugging Face checkpoint in NVIDIA ModelOpt's NVFP4 layout (spec section 2,
// "Checkpoint convention"), loaded straight into a MoeLayer. Per projection:
//   weight          U8      [N, K/2]   two E2M1 codes per byte, element 2i in the low nibble
//   weight_scale    F8_E4M3 [N, K/16]  linear block scales
//   weight_scale_2  F32     [] or [1]  amax / 2688 (gate and up may differ: kept exact, never averaged)
//   input_scale     F32     [] or [1]  calibrated activation amax / 2688 (optional)
//   bias            BF16, F16 or F32 [N]  added to the projection's outputs (optional; gpt-oss's experts have them)
// Tensor naming variants found by find_moe_layers():
//   per expert:  PREFIX.E.{gate_proj,up_proj,down_proj | w1,w3,w2 | gate_up_proj,down_proj | w13,w2}.SUFFIX
//   per layer:   PREFIX.{same projections}.SUFFIX or PREFIX.{proj}_SUFFIX (vLLM: experts.w13_weight), each
//                tensor with a leading expert dim [E, N, ...]; scale_2/input_scale [E] (or [] shared),
//                and for a fused gate_up also [E, 2] / [2] (gate, up)
//   biases:      PROJ.bias or PROJ_bias in either form, whatever the weights' separator (gpt-oss:
//                experts.gate_up_proj_bias [E, 2I], experts.down_proj_bias [E, H]; vLLM: experts.w13_bias);
//                per projection, on every expert or on none
// where PREFIX ends in ".experts" and contains ".layers.L." (e.g. model.layers.3.mlp.experts).
// compressed-tensors' NVFP4 ("nvfp4-pack-quantized", llm-compressor's exports, read by vLLM) is the same
// data under other names, and is loaded the same way:
//   weight_packed        U8      [N, K/2]   as ModelOpt's weight (element 2i in the low nibble)
//   weight_scale         F8_E4M3 [N, K/16]  the same
//   weight_global_scale  F32     [1]        the global scale, 2688 / amax: weight_scale_2 is its inverse
//   input_global_scale   F32     [1]        the same for the activations: input_scale is its inverse
// Each inverse is taken in FP32 at load time (1 / g, correctly rounded), so a weight dequantizes to
// e2m1 * e4m3 * (1 / g) where compressed-tensors divides by g: at most an FP32 rounding apart.
// A fused gate_up holds the gate rows then the up rows (spec section 4's W13).
// Hugging Face transformers' layout of unquantized experts, bare parameters without a suffix:
//   PREFIX.gate_up_proj [E, H, 2I] (x @ gate_up_proj: transposed), PREFIX.down_proj [E, I, H], and for
//   gpt-oss PREFIX.gate_up_proj_bias [E, 2I] and PREFIX.down_proj_bias [E, H]
// is recognised (MoeLayerTensors::hf_layout) for the checkpoint quantizer only: it is not NVFP4, and
// the loader rejects it (run `fp4moe quantize` first). How gate_up_proj's columns hold gate and up
// depends on the model, and only config.json's model_type says which: gpt-oss INTERLEAVES them (column
// 2j is gate j, 2j+1 up j; its bias the same way), Llama-4 concatenates them (columns [0, I) gate,
// [I, 2I) up). For any other model_type the layer is a problem, not a guess; so is any other bare
// parameter.
// gpt-oss's own checkpoints hold their experts in MXFP4 (format/mxfp4.h), per layer:
//   PREFIX.gate_up_proj_blocks U8 [E, 2I, H/32, 16]  E2M1 codes, rows gate 0, up 0, gate 1, ... (interleaved)
//   PREFIX.gate_up_proj_scales U8 [E, 2I, H/32]      E8M0 scales, one per 32 codes along H
//   PREFIX.down_proj_blocks    U8 [E, H, I/32, 16], PREFIX.down_proj_scales U8 [E, H, I/32]
//   PREFIX.gate_up_proj_bias [E, 2I] (interleaved alike), PREFIX.down_proj_bias [E, H]
// recognised as MoeLayerTensors::mxfp4: the loader converts it to NVFP4 as it loads, without rounding
// where the block exponents allow (nvfp4_from_mxfp4, format/mxfp4.h), and `fp4moe quantize` writes the
// converted checkpoint.
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fp4moe/checkpoint/model_config.h"
#include "fp4moe/checkpoint/safetensors.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/layer.h"
#include "fp4moe/moe/tensor_parallel.h"
#include "fp4moe/routing/routing.h"

namespace fp4moe {

enum class ExpertProjection : uint8_t { kGate, kUp, kDown };

// Where one MoE layer's tensors are and what their shapes say.
struct MoeLayerTensors {
  int layer = -1;
  std::string experts_prefix;                 // "model.layers.3.mlp.experts"
  bool fused_experts = false;                 // one tensor per projection with a leading expert dim
  bool fused_gate_up = false;                 // gate and up in one [2I, ...] tensor (gate rows first)
  // Hugging Face transformers' layout (see above): bare gate_up_proj [E, H, 2I], down_proj [E, I, H],
  // unquantized; fused_experts and fused_gate_up are set too, and tensor_name(p, e, "weight") names the
  // bare tensor. Only quantize_checkpoint and `fp4moe accuracy` read it.
  bool hf_layout = false;
  // gpt-oss's MXFP4 experts (see above); fused_experts and fused_gate_up are set too, weight_dtype is U8,
  // and the suffixes "weight" and "weight_scale" name the _blocks and _scales tensors.
  bool mxfp4 = false;
  // hf_layout or mxfp4: gate and up interleaved in gate_up_proj's columns (hf) or rows (mxfp4), as gpt-oss
  // has them, rather than its halves (Llama-4).
  bool gate_up_interleaved = false;
  char separator = '.';                       // between projection and suffix: "w13.weight" or "w13_weight"
  std::string gate_name, up_name, down_name;  // "gate_proj" / "w1" / "gate_up_proj" (gate == up when fused)
  int num_experts = 0;
  int hidden = 0;
  int intermediate = 0;
  bool nvfp4 = false;  // weights U8 (NVFP4, ModelOpt's or compressed-tensors'); otherwise unquantized in weight_dtype
  DType weight_dtype = DType::kU8;
  bool has_input_scale = false;
  // compressed-tensors' names (see above): tensor_name() maps the ModelOpt suffixes "weight",
  // "weight_scale_2" and "input_scale" to weight_packed, weight_global_scale and input_global_scale,
  // and the loader inverts the two global scales.
  bool compressed_tensors = false;
  std::string router_weight;  // "model.layers.3.mlp.gate.weight"; empty when the checkpoint has none
  std::string router_bias;    // "...gate.e_score_correction_bias"; empty when absent
  std::string router_linear_bias;  // the router Linear's own bias, "...router.bias" (gpt-oss); empty when absent
  // Expert biases, per projection (gate, up, down): the character before "bias" in the tensor's name
  // ('.' or '_', whatever the weights use), 0 where the projection has none. A fused gate_up's bias
  // is one tensor, [.., 2I] gate then up as its weight's rows (hf_layout: interleaved, as its columns).
  std::array<char, 3> bias_separator = {0, 0, 0};
  int num_tensors = 0;        // under experts_prefix
  uint64_t bytes = 0;         // under experts_prefix
  std::string problem;        // why this layer cannot be loaded; empty when it can

  // gate_name, up_name or down_name.
  const std::string& projection_name(ExpertProjection projection) const {
    return projection == ExpertProjection::kGate ? gate_name
           : projection == ExpertProjection::kUp ? up_name
                                                 : down_name;
  }
  // The tensor holding `projection` of `expert` (for fused layouts: of every expert); for hf_layout,
  // suffix "weight" gives the bare parameter (PREFIX.gate_up_proj, PREFIX.down_proj). Suffixes are
  // ModelOpt's: for a compressed-tensors layer they name its tensors (stored_suffix).
  std::string tensor_name(ExpertProjection projection, int expert, std::string_view suffix) const;
  // The suffix this layer stores a ModelOpt suffix under.
  std::string_view stored_suffix(std::string_view suffix) const;
  bool has_bias(ExpertProjection projection) const { return bias_separator[size_t(projection)] != 0; }
  bool has_biases() const;  // any projection
  // The bias tensor of `projection` of `expert` (for fused layouts: of every expert); has_bias() first.
  std::string bias_name(ExpertProjection projection, int expert) const;
  // Where that bias lies in its tensor: `rows` elements from element `first`, `stride` apart (2 for
  // hf_layout's interleaved gate_up), in a tensor of `shape` ([rows], [2I] for a fused gate_up, with
  // a leading E where the experts are fused).
  struct BiasSlice {
    int64_t first = 0, rows = 0, stride = 1;
    std::vector<int64_t> shape;
  };
  BiasSlice bias_slice(ExpertProjection projection, int expert) const;
};

// Finds every MoE layer (tensors under "*.layers.L.*.experts.") in layer order. `model_type` (config.json's)
// tells how a bare gate_up_proj holds gate and up (see above); without a model type that tells, such a
// layer is a problem.
std::vector<MoeLayerTensors> find_moe_layers(const SafetensorsCheckpoint& tensors, std::string_view model_type = "");

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

  // The MoeConfig of `layer`, its sizes checked between config.json and the tensors; the layer must be
  // one load_moe_layer loads (NVFP4, or MXFP4 that it converts). For a tensor-parallel `shard` the
  // intermediate is the rank's, I/n (moe/tensor_parallel.h).
  MoeConfig moe_config(int layer, QuantMode mode = QuantMode::kW4A16, int max_tokens = 1,
                       TensorParallelShard shard = {}) const;
  // The same for a layer of experts not in NVFP4 (BF16, F16, F32, or MXFP4), which `fp4moe accuracy`
  // quantizes (or converts) itself; an NVFP4 layer is rejected.
  MoeConfig unquantized_moe_config(int layer, QuantMode mode = QuantMode::kW4A16, int max_tokens = 1) const;

 private:
  MoeConfig checked_config(int layer, QuantMode mode, int max_tokens) const;

  std::string dir_;
  MoeModelConfig model_;
  SafetensorsCheckpoint tensors_;
  std::vector<MoeLayerTensors> layers_;
};

// One expert of a checkpoint: views of its projections pointing into the file mapping (no copy; for an
// MXFP4 layer into its conversion to NVFP4, owned here), and its biases as float, owned here (the views'
// bias pointers point into them; null where the projection has none). Moving it keeps `view` valid;
// copying is not allowed, as a copy's view would point into the original.
struct CheckpointExpert {
  ExpertWeightsView view;
  std::array<std::vector<float>, 3> bias;  // gate [I], up [I], down [H]; empty where none
  std::array<QuantizedWeight, 3> converted;  // MXFP4 layers: gate, up, down in NVFP4; empty otherwise
  int64_t inexact_blocks = 0;                // of those, 16-element blocks not kept exactly (nvfp4_from_mxfp4)

  CheckpointExpert() = default;
  CheckpointExpert(CheckpointExpert&&) = default;
  CheckpointExpert& operator=(CheckpointExpert&&) = default;
  CheckpointExpert(const CheckpointExpert&) = delete;
  CheckpointExpert& operator=(const CheckpointExpert&) = delete;
};

// Every projection of one expert, after checking dtypes (U8 / F8_E4M3 / F32), shapes, that each
// weight_scale_2 is finite and positive and that each bias is finite (read_expert_bias); an MXFP4
// expert's E8M0 scales checked and its projections converted. Throws naming the file and the tensor.
CheckpointExpert expert_weights(const MoeCheckpoint& checkpoint, int layer, int expert);

// The bias of `projection` of `expert` ([I] gate or up, also from a fused gate_up's [2I], de-interleaved
// for hf_layout; [H] down) converted exactly to float, empty where the layer has none. Checks the whole tensor's dtype
// (BF16, F16 or F32) and shape ([rows] per expert, [E, rows] fused) and that this expert's values
// are finite; throws naming the file and the tensor.
std::vector<float> read_expert_bias(const MoeCheckpoint& checkpoint, const MoeLayerTensors& layer, int expert,
                                    ExpertProjection projection);

// The ModelOpt input_scale of GEMM 1 (gate/up) and GEMM 2 (down), the max over the experts given
// (one scale per layer, as vLLM uses); 0 when the checkpoint has none.
struct InputScales {
  float gemm1 = 0.0f;
  float gemm2 = 0.0f;
};
InputScales input_scales(const MoeCheckpoint& checkpoint, int layer, int first_expert, int num_experts);

// Loads every local expert of `layer` (dst.config()'s local range) into `dst`, with its biases
// where the checkpoint has them, and in W4A4 the input scales when the checkpoint has them. All
// experts are validated before the first is loaded, so an error leaves `dst` untouched; MXFP4 ones
// are checked whole first and converted one at a time as they load. `progress(done, total)` is called
// after each expert.
struct LoadReport {
  int experts = 0;             // local experts loaded
  int64_t inexact_blocks = 0;  // MXFP4 layers: 16-element blocks the conversion could not keep exact
};
LoadReport load_moe_layer(const MoeCheckpoint& checkpoint, int layer, MoeLayer& dst,
                          const std::function<void(int, int)>& progress = {});
// The same for one rank of tensor parallelism (moe/tensor_parallel.h): `dst` of moe_config(layer, mode,
// max_tokens, shard)'s intermediate gets the rank's rows of gate and up and columns of down (copied one
// expert at a time), gate and up biases sliced alike, down's bias on rank 0 only. Every expert is
// validated whole, as above, before the first is loaded.
LoadReport load_moe_layer(const MoeCheckpoint& checkpoint, int layer, MoeLayer& dst, TensorParallelShard shard,
                          const std::function<void(int, int)>& progress = {});

// The router of a MoE layer as float: weight [num_experts, hidden] and, when present, DeepSeek's
// e_score_correction_bias [num_experts] and the router Linear's bias [num_experts] (gpt-oss: the
// logits are weight x + linear_bias). `present` is false when the checkpoint has no router.
struct RouterWeights {
  bool present = false;
  int num_experts = 0;
  int hidden = 0;
  std::vector<float> weight;
  std::vector<float> bias;         // e_score_correction_bias: selection only (spec section 5)
  std::vector<float> linear_bias;  // added to every token's logits
};
RouterWeights read_router(const MoeCheckpoint& checkpoint, int layer);

// Reads a tensor of BF16, F16 or F32 as float (the checkpoint quantizer and router use it).
std::vector<float> read_float_tensor(const TensorView& view);

}  // namespace fp4moe
