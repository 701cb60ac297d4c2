// The tiny BF16 MoE checkpoint behind tests/data/tiny-nvfp4 (a Qwen3-MoE-shaped model: layer 0 a
// dense MLP, layer 1 a MoE of 4 experts, hidden 32, intermediate 32, top-2) and its calibration
// activations. Deterministic: the same bytes on every run and machine.
#pragma once
#include <string>

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

}  // namespace fp4moe::testing
