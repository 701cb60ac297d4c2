// BF16 (or F16/F32) safetensors MoE checkpoint -> ModelOpt NVFP4 checkpoint. Every expert
// projection is quantized on its own with the host quantizer (quantize_nvfp4): global scale from
// the projection's amax, weight_scale_2 = amax / 2688, linear E4M3 block scales. Everything else
// (attention, routers, shared experts, norms, embeddings) is copied through unchanged and listed in
// exclude_modules as ModelOpt does. Output uses per-expert tensors (PREFIX.E.gate_proj.* or
// PREFIX.E.w1.* following the input's naming), one output shard per input shard. Expert biases keep
// their dtype and bytes: per-expert ones their names too, fused ones ([E, 2I], [E, H]) split into
// PREFIX.E.gate_proj.bias, up_proj.bias, down_proj.bias (or w1, w3, w2) like their weights.
// Hugging Face transformers' BF16 layout (bare PREFIX.gate_up_proj [E, H, 2I] with gate and up
// interleaved in its columns for gpt-oss, its halves for Llama-4, PREFIX.down_proj [E, I, H], gpt-oss's
// _bias [E, 2I] interleaved and [E, H]; see modelopt.h) is read too: each projection is split and
// transposed to [N, K] before it is quantized, the biases de-interleaved (bytes copied), all written as
// per-expert gate_proj/up_proj/down_proj. Its shapes must be what config.json says.
// gpt-oss's own MXFP4 checkpoints (config.json quant_method "mxfp4"; PREFIX.gate_up_proj_blocks/_scales,
// rows interleaved, and down_proj_blocks/_scales) are converted, not quantized again: the same codes, and
// block scales and weight_scale_2 that give each weight its MXFP4 value exactly, but for the blocks more
// than 17 octaves below their projection's largest (nvfp4_from_mxfp4, format/mxfp4.h), which are
// quantized from their values and counted in inexact_blocks.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace fp4moe {

struct QuantizeCheckpointOptions {
  // Optional safetensors file with one BF16/F16/F32 activations tensor [T, hidden] (or pick it
  // with calibration_tensor). With it every projection gets an input_scale = amax / 2688:
  // gate/up from the activations, down from act(gate x + b, up x + b) of that expert over all T tokens
  // (every token through every expert: an upper bound of the routed amax, so nothing saturates).
  // Without it input_scale is omitted (W4A4 then uses dynamic scales).
  std::string calibration;
  std::string calibration_tensor;
  // Called after each quantized projection with (done, total).
  std::function<void(int64_t, int64_t)> progress;
};

struct QuantizeCheckpointReport {
  int moe_layers = 0;
  int64_t projections_quantized = 0;
  int64_t tensors_copied = 0;
  int64_t biases_copied = 0;  // expert bias tensors written (a fused one counts once per expert and projection)
  int64_t mxfp4_projections = 0;  // of projections_quantized, those converted from MXFP4
  int64_t inexact_blocks = 0;     // of their 16-element blocks, those NVFP4 could not keep exactly
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

// `in_dir` holds config.json and BF16 (or MXFP4 gpt-oss) safetensors (single or sharded); `out_dir` is created if
// needed. Every source tensor is checked before anything is written; throws Error naming the file
// and tensor.
QuantizeCheckpointReport quantize_checkpoint(const std::string& in_dir, const std::string& out_dir,
                                             const QuantizeCheckpointOptions& options = {});

}  // namespace fp4moe
