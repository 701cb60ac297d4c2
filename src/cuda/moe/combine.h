// The weighted combine: out[t] = bf16( sum over j in slot order of w[t,j] * y[row(t,j)] ), FP32.
// Deterministic: no atomics, the k expert outputs of a token are summed in a fixed order.
#pragma once
#include <cuda_runtime.h>

#include "cuda/common/launch.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::cuda {

void launch_combine(const float* y, const int* pair_rows, const float* topk_weights, int num_tokens, int top_k,
                    int hidden, bf16* out, const Launch& launch);

}  // namespace fp4moe::cuda
