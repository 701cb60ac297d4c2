// The float64 reference of spec section 4, on the weights loaded into a CPU-backend layer: the
// same quantization steps (BF16 or NVFP4 intermediate) as the contract, every sum and the
// activation in double, the output not rounded. Tests and accuracy tools compare against it.
#pragma once
#include "fp4moe/moe/layer.h"

namespace fp4moe {

// `layer` must be a kCpu layer with all experts loaded; `out` is [T, H] host doubles.
void reference_forward_f64(const MoeLayer& layer, const ForwardArgs& args, double* out);

}  // namespace fp4moe
