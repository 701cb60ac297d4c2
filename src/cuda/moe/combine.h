// The weighted combine: out[t] = bf16( sum over j in slot order of w[t,j] * y[row(t,j)] ), FP32.
// Deterministic: no atomics, the k expert outputs of a token are summed in a fixed order.
#pragma once
#include <cuda_runtime.h>

#include "cuda/common/launch.h"
#include "fp4moe/format/bf16.h"

namespace fp4moe::cuda {

// GEMM 2's K slices past the first (DownOutput::k_slices): `count` arrays like y, `stride` floats apart
// from `first`, added to y's value in slice order; count 0 where GEMM 2 kept its K whole.
struct YSlices {
  const float* first = nullptr;
  int count = 0;
  int64_t stride = 0;
};

// discard_y: the combine drops each line of y (and of the slices) from L2 once it has read it, unwritten
// (ptx::discard_l2_line): y is scratch, read once. Needs y and the slices 128-byte aligned and hidden a
// multiple of 32 (whole lines per row), which the launch checks.
void launch_combine(const float* y, const int* pair_rows, const float* topk_weights, int num_tokens, int top_k,
                    int hidden, bf16* out, const Launch& launch, const YSlices& slices = {}, bool discard_y = false);

// Whether launch_combine can discard y's lines: rows of whole 128-byte lines, each line aligned.
bool combine_can_discard(const float* y, int hidden, const YSlices& slices);

}  // namespace fp4moe::cuda
