// The float64 references of spec section 4. reference_forward_f64 runs the contract on the weights
// loaded into a CPU-backend layer: the same quantization steps (BF16 or NVFP4 intermediate), every
// sum and the activation in double, the output not rounded; tests compare every backend against it.
// add_unquantized_expert_f64 runs the layer those NVFP4 weights were quantized from: accuracy tools
// (`fp4moe demo`, `fp4moe accuracy`) measure what NVFP4 costs against it.
#pragma once
#include "fp4moe/moe/layer.h"

namespace fp4moe {

// `layer` must be a kCpu layer with all experts loaded; `out` is [T, H] host doubles.
void reference_forward_f64(const MoeLayer& layer, const ForwardArgs& args, double* out);

// One expert's unquantized weights as float, row-major in the checkpoint's orientation: gate and up
// [I, H], down [H, I]; biases [I], [I], [H], or null for none.
struct UnquantizedExpertView {
  const float* gate = nullptr;
  const float* up = nullptr;
  const float* down = nullptr;
  const float* gate_bias = nullptr;
  const float* up_bias = nullptr;
  const float* down_bias = nullptr;
};

// The unquantized layer in float64, one local expert at a time: adds, for every slot (t, j) whose id
// is local expert `local_expert` of `config`, topk_weights[t, j] * (W2 act(W13 x_t + b13) + b2) to
// out[t, :] ([T, H] host doubles). x is read as given (BF16), the weights unquantized, nothing is
// rounded. Called once for each local expert on a zeroed `out`, it gives the whole layer while only
// one expert's float weights need to be in memory (a large model's layer does not fit as float).
// Deterministic for any thread count (`threads` 0: all cores); every argument is checked as forward()
// checks it, and a null `out` or a missing projection is rejected.
void add_unquantized_expert_f64(const MoeConfig& config, int local_expert, const UnquantizedExpertView& weights,
                                const ForwardArgs& args, double* out, int threads = 0);

}  // namespace fp4moe
