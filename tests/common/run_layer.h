// Runs a layer on host inputs, whatever its backend: inputs, output and workspace go through
// fp4moe::Buffer in the layer's memory space, the output is NaN-poisoned first so that an element
// forward() does not write shows, the workspace too (every byte 0xFF: NaN floats, -1 counters) so
// that a forward relying on zeroed or leftover scratch shows, and `stream` is the default stream
// (the copies back wait on it).
#pragma once
#include <vector>

#include "common/random_inputs.h"
#include "fp4moe/moe/buffer.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe::testing {

std::vector<bf16> run_forward(MoeLayer& layer, const std::vector<bf16>& x, const Routing& routing);

// The same on the caller's workspace (poisoned_workspace), which forwards after one another share as a
// model's layers do: each must work from what the one before left there.
std::vector<bf16> run_forward(MoeLayer& layer, const std::vector<bf16>& x, const Routing& routing,
                              const Buffer& workspace);

// A workspace for forwards of up to `num_tokens` tokens in the layer's memory space, every byte 0xFF.
Buffer poisoned_workspace(const MoeLayer& layer, int num_tokens);

// reference_forward_f64 on a CPU layer: [T, H] doubles.
std::vector<double> run_reference(const MoeLayer& cpu_layer, const std::vector<bf16>& x, const Routing& routing);

}  // namespace fp4moe::testing
