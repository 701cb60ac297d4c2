// Running one MoE layer from the CLI on a batch: seeded random tokens, their routing (by a
// checkpoint's router where it has one), a forward on the layer's backend with its median time, and
// the output's error against a float64 result. `fp4moe run`, `fp4moe accuracy` and `fp4moe demo`
// share them.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fp4moe/checkpoint/modelopt.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/format/quantize.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe::cli {

// A quantized weight matrix (the ModelOpt recipe, format/quantize.h) as a layer loads it, with `bias`
// ([rows], or null).
Nvfp4WeightView weight_view(const QuantizedWeight& q, const float* bias = nullptr);

// n BF16 values drawn from N(0, 1), the same for a seed on every machine.
std::vector<bf16> random_tokens(int64_t n, uint64_t seed);

struct TokenRouting {
  std::vector<int32_t> ids;    // [T, k]
  std::vector<float> weights;  // [T, k]
  std::string how;             // what chose them, for the report
};

// Routes x [tokens, H] by the router of `layer` where the checkpoint has one that fp4moe::route
// computes; otherwise k distinct random experts per token with weights 1/k (the report says why).
// For a model whose router weights the input (Llama-4, MoeModelConfig::router_weight_on_input), x
// becomes the layer's input, each row scaled by its token's weight in BF16, and the weights 1.
TokenRouting checkpoint_routing(const MoeCheckpoint& ckpt, int layer, std::vector<bf16>& x, int tokens,
                                uint64_t seed);

// ||y - ref|| / ||ref|| (||y - ref|| where ref is 0); infinite where y holds a NaN. The spans are of
// one length: a whole output, or one token's row of it.
double rel_error(std::span<const bf16> y, std::span<const double> ref);

// `layer`'s output for the batch and the median time of `iters` forwards (on the CUDA backend,
// replays of the forward captured in a CUDA graph). The output buffer is NaN-poisoned first, so an
// element forward() leaves unwritten shows in the error.
struct Timed {
  std::vector<bf16> out;
  double median_us = 0.0;
};
Timed run_forward(MoeLayer& layer, const std::vector<bf16>& x, const TokenRouting& routing, int tokens, int iters);

}  // namespace fp4moe::cli
