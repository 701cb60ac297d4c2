// The expert projections of an unquantized (BF16, F16 or F32) MoE layer, whatever its layout:
// per-expert or fused tensors, a fused gate_up, or Hugging Face transformers' transposed gpt-oss
// layout with gate and up interleaved (modelopt.h). The checkpoint quantizer and `fp4moe accuracy`
// read experts through it. Internal.
#pragma once
#include <vector>

#include "fp4moe/checkpoint/modelopt.h"

namespace fp4moe {

// Checks that `layer` of `checkpoint` can be read as unquantized experts: no layout problem, float
// weights, sizes multiples of 16, transformers' bare tensors of the shapes config.json gives, and
// every projection's source tensor of its dtype and shape. Throws naming the file and the tensor.
void check_unquantized_layer(const MoeCheckpoint& checkpoint, const MoeLayerTensors& layer);

// `projection` of `expert` as float [N, K] (ModelOpt's orientation: gate and up [I, H], down
// [H, I]); check_unquantized_layer first. A NaN or Inf weight is rejected, naming the tensor.
std::vector<float> read_unquantized_projection(const SafetensorsCheckpoint& tensors, const MoeLayerTensors& layer,
                                               int expert, ExpertProjection projection);

}  // namespace fp4moe
