// Tensor parallelism over the intermediate dimension, as vLLM and SGLang shard a MoE layer across
// GPUs when they do not place whole experts (expert parallelism: MoeConfig's local range). Rank r of
// n holds, for every expert, rows [r*I/n, (r+1)*I/n) of gate and of up and the same columns of down.
// Each rank runs an ordinary MoeLayer of intermediate I/n on the same x and routing, and the layer's
// output is the sum of the ranks' outputs: the caller all-reduces them. The down projection's bias
// belongs to the sum once, so only rank 0 keeps it (as vLLM loads gpt-oss).
//
// Numerics (spec section 4): an intermediate element and its 16-element NVFP4 block lie on one rank
// when I/n is a multiple of 16, so W4A16 and W4A4 with calibrated scales compute on each rank the
// terms of the unsharded layer's sum over I; the float64 references of the ranks add up to the
// unsharded layer's (tests/moe/test_tensor_parallel.cpp). What differs: each rank rounds its partial
// output to BF16 before the all-reduce, and in W4A4 with dynamic scales each rank takes the
// intermediate's amax over its own shard, not over the whole intermediate.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "fp4moe/moe/layer.h"

namespace fp4moe {

struct TensorParallelShard {
  int rank = 0;  // in [0, size)
  int size = 1;  // 1: unsharded
};

// I/n, after checking that `shard` is a rank of a size that splits `intermediate` into multiples of 16
// (the NVFP4 block); throws naming `where` and the failing field otherwise (the size as
// `size_argument`: a caller's own name for it, e.g. a command's option).
int shard_intermediate(int intermediate, TensorParallelShard shard, std::string_view where = "shard_intermediate",
                       std::string_view size_argument = "shard.size");

// One expert's weights on one rank. gate and up (and their biases) are views into the full expert's
// memory; down's columns are not contiguous there, so its codes and scales are copied here. Moving
// an ExpertShard keeps `view` valid; copying is not allowed, as a copy's view would point into the
// original.
struct ExpertShard {
  ExpertWeightsView view;
  std::vector<uint8_t> down_packed;  // [H, I/n/2]
  std::vector<uint8_t> down_scales;  // [H, I/n/16], linear

  ExpertShard() = default;
  ExpertShard(ExpertShard&&) = default;
  ExpertShard& operator=(ExpertShard&&) = default;
  ExpertShard(const ExpertShard&) = delete;
  ExpertShard& operator=(const ExpertShard&) = delete;
};

// `shard`'s part of the expert `full` (gate and up [I, H], down [H, I], in host memory, linear scale
// layout: unswizzle swizzled scales first, format/scale_layout.h). The full expert's memory must
// outlive the result.
ExpertShard shard_expert(const ExpertWeightsView& full, int hidden, int intermediate, TensorParallelShard shard);

}  // namespace fp4moe
