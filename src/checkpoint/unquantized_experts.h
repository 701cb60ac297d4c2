// The expert projections of a MoE layer not yet in NVFP4, whatever its layout: BF16, F16 or F32 in
// per-expert or fused tensors, a fused gate_up, Hugging Face transformers' transposed layout (gpt-oss's
// or Llama-4's), or gpt-oss's MXFP4 (modelopt.h). The checkpoint quantizer and `fp4moe accuracy` read
// experts through it. Internal.
#pragma once
#include <vector>

#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/format/quantize.h"

namespace fp4moe {

// Checks that `layer` of `checkpoint` can be read as unquantized experts: no layout problem, float or
// MXFP4 weights, sizes multiples of 16, transformers' bare tensors of the shapes config.json gives, every
// projection's source tensor of its dtype and shape, and MXFP4's E8M0 scales those of finite weights.
// Throws naming the file and the tensor (and, for a scale, its element).
void check_unquantized_layer(const MoeCheckpoint& checkpoint, const MoeLayerTensors& layer);
// The same for one expert's source tensors and their rows (not the layer-wide checks).
void check_unquantized_expert(const MoeCheckpoint& checkpoint, const MoeLayerTensors& layer, int expert);

// `projection` of `expert` as float [N, K] (ModelOpt's orientation: gate and up [I, H], down
// [H, I]; MXFP4 dequantized, exactly); check_unquantized_layer first. A NaN or Inf weight is rejected,
// naming the tensor.
std::vector<float> read_unquantized_projection(const SafetensorsCheckpoint& tensors, const MoeLayerTensors& layer,
                                               int expert, ExpertProjection projection);

// `projection` of `expert` in NVFP4: float weights by ModelOpt's recipe (quantize_weight), MXFP4 ones
// converted without rounding where their block exponents allow (nvfp4_from_mxfp4, which counts the
// blocks it had to quantize); check_unquantized_layer first.
struct QuantizedProjection {
  QuantizedWeight weight;
  int64_t inexact_blocks = 0;
};
QuantizedProjection quantize_projection(const SafetensorsCheckpoint& tensors, const MoeLayerTensors& layer, int expert,
                                        ExpertProjection projection);

}  // namespace fp4moe
