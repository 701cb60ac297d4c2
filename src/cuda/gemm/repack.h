// Load-time conversion of checkpoint-layout NVFP4 weights (device copies) into the private
// layout of gemm/weight_layout.h.
#pragma once
#include <cuda_runtime.h>

#include "cuda/gemm/weight_layout.h"
#include "fp4moe/format/scale_layout.h"

namespace fp4moe::cuda {

// One source matrix [rows, k] in device memory, checkpoint packing, scales in `layout`.
struct SourceMatrix {
  const uint8_t* packed;
  const uint8_t* scales;
  ScaleLayout layout;
  int64_t rows;
  int64_t k;
};

// kGateUp: `first` is gate, `second` up (each [I, H]); kDown: `first` is W2 [H, I], `second` unused.
// Scale bytes that are NaN or negative (not valid NVFP4 block scales, and not representable by
// the dequantization of format/dequant.cuh) set bit 0 (first) or bit 1 (second) of *bad_scales.
void launch_repack_weights(WeightRole role, const SourceMatrix& first, const SourceMatrix& second,
                           PackedWeightShape shape, uint8_t* codes, uint8_t* scales, uint32_t* bad_scales,
                           cudaStream_t stream);

}  // namespace fp4moe::cuda
