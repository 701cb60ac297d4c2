// The tiny BF16 MoE checkpoint behind tests/data/tiny-nvfp4 (a Qwen3-MoE-shaped model: layer 0 a
// dense MLP, layer 1 a MoE of 4 experts, hidden 32, intermediate 32, top-2) and its calibration
// activations. Deterministic: the same bytes on every run and machine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::testing {

inline constexpr int kTinyHidden = 32;
inline constexpr int kTinyIntermediate = 32;
inline constexpr int kTinyExperts = 4;
inline constexpr int kTinyMoeLayer = 1;

// Writes DIR/config.json, DIR/model.safetensors and DIR/tokenizer_config.json. with_biases adds a
// BF16 bias to every expert projection (experts.E.gate_proj.bias [I], up_proj.bias [I],
// down_proj.bias [H], drawn from a stream of their own: the other tensors are the same bytes).
void write_tiny_bf16_checkpoint(const std::string& dir, bool with_biases = false);
// Writes a safetensors file with one BF16 tensor "activations" [16, 32].
void write_tiny_calibration(const std::string& path);

// One gpt-oss MoE layer's experts as BF16, in ModelOpt's orientation: gate and up [E, I, H], down
// [E, H, I], biases [E, I], [E, I], [E, H]. Deterministic for a seed.
struct GptOssExperts {
  int experts = 3, hidden = kTinyHidden, intermediate = 16;
  std::vector<bf16> gate, up, down, gate_bias, up_bias, down_bias;
};
GptOssExperts make_gpt_oss_experts(uint64_t seed);

// Writes DIR/config.json (model_type gpt_oss) and DIR/model.safetensors holding layer 0's experts as
// model.layers.0.mlp.experts.* and a router model.layers.0.mlp.router.weight [E, H] with its bias [E]:
//   hf:    Hugging Face transformers' bare layout: gate_up_proj [E, H, 2I] (columns gate 0, up 0,
//          gate 1, ...), gate_up_proj_bias [E, 2I] (the same), down_proj [E, I, H], down_proj_bias [E, H]
//   fused: ModelOpt-named fused BF16: gate_up_proj.weight [E, 2I, H] (gate rows then up rows),
//          gate_up_proj_bias [E, 2I] (gate then up), down_proj.weight [E, H, I], down_proj_bias [E, H]
// Same values either way. `down_shape`, when given, overrides the shape written for down_proj (same bytes).
enum class GptOssLayout { kHf, kFused };
void write_gpt_oss_checkpoint(const std::string& dir, const GptOssExperts& x, GptOssLayout layout,
                              std::vector<int64_t> down_shape = {});

// The same experts as Llama-4's layer 0 (Llama4ForConditionalGeneration: language_model.model.layers.0.
// feed_forward.experts.*, a router feed_forward.router.weight [E, H], config.json's text_config with one
// expert per token), without biases (Llama-4's experts have none; x's are not written):
//   hf:    transformers' bare layout: gate_up_proj [E, H, 2I] whose columns are gate 0..I-1 then up 0..I-1
//          (Llama4TextExperts' chunk(2, -1), not gpt-oss's interleaving), down_proj [E, I, H]
//   fused: as for gpt-oss
void write_llama4_checkpoint(const std::string& dir, const GptOssExperts& x, GptOssLayout layout);

// gpt-oss's own checkpoint format: layer 0's experts in MXFP4 (format/mxfp4.h) as model.layers.0.mlp.
// experts.{gate_up_proj,down_proj}_{blocks,scales} (gate and up rows interleaved), BF16 biases
// gate_up_proj_bias [E, 2I] (interleaved alike) and down_proj_bias [E, H], a router with a bias, and
// config.json's quantization_config {"quant_method": "mxfp4"}: kMxfp4Experts experts, hidden kMxfp4Hidden,
// intermediate kMxfp4Intermediate. Random codes, block exponents 127 + [lo, hi]; deterministic for a seed.
inline constexpr int kMxfp4Experts = 3, kMxfp4Hidden = 64, kMxfp4Intermediate = 32;
void write_gpt_oss_mxfp4_checkpoint(const std::string& dir, uint64_t seed, int lo = -9, int hi = -3);

// DIR/config.json of a gpt-oss model of E experts, hidden H and intermediate I, two per token.
void write_gpt_oss_config(const std::string& dir, int64_t experts, int64_t hidden, int64_t intermediate);

// Layer `layer` of `ckpt` loaded into a CPU layer in `mode`: the relative error of its forward on 16
// random tokens against the float64 reference of the same layer.
double loaded_layer_error(const MoeCheckpoint& ckpt, int layer, QuantMode mode);

}  // namespace fp4moe::testing
