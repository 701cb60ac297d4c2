// What `fp4moe kernels` prints: for a shape and its token batches, the kernels the CUDA layer runs
// (moe/dispatch.h's choose_kernels, with the layer's FP4MOE_* overrides), on a modeled Hopper or on
// the current device. A model needs no GPU: the choice depends only on host-known sizes.
#pragma once
#include <string>
#include <vector>

#include "cli/bench_plan.h"

namespace fp4moe::cli {

// The device the choices are made for: a Hopper GPU of `sms` SMs and `l2_mib` MiB of L2 as the dispatch
// models it (moe/hopper_waves.h: an H100 SXM at 132 and 50, an H200 at 132 and 60), or the current CUDA device.
struct KernelDevice {
  bool current = false;
  int sms = 132;
  int l2_mib = 50;
};

struct KernelChoiceOptions {
  int local_experts = -1;  // expert parallelism: the experts on this GPU (-1: all)
  ActivationQuant quant;
};

// A line naming the device ("a modeled Hopper GPU of 132 SMs and 50 MiB of L2 (H100 SXM)", or the current one's
// name).
std::string kernel_device_line(const KernelDevice& device);

// The column heads, then one line per batch: the tokens, rows per local expert, the local experts a
// uniform batch touches on average, the path (the two decode kernels, or the plan and grouped GEMMs),
// both GEMMs' tiles, the large tiles' and the rules that apply (the tile hand-off, GEMM 1 finding its
// own tiles, reading sorted rows or quantizing h, GEMM 2 persistent, in K slices or streaming its
// weights before its wait for h's quantization).
std::vector<std::string> kernel_choice_lines(const BenchShape& shape, const std::vector<int>& tokens,
                                             const KernelChoiceOptions& options, const KernelDevice& device);

}  // namespace fp4moe::cli
