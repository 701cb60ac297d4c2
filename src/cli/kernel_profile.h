// The kernels a run launches, recorded by CUPTI's activity API (the toolkit's profiling library), for
// `fp4moe bench`'s per-kernel times. Builds with CUDA and CUPTI only (FP4MOE_WITH_CUPTI).
#pragma once
#include "cli/gpu_timing.h"
#include "cli/kernel_times.h"

namespace fp4moe::cli {

// `runs` runs of `run` on `stream` (`forwards_per_run` forwards each) with CUPTI recording every
// kernel, summed per forward. Throws fp4moe::Error naming CUPTI's reason where it cannot record (no
// permission to profile, another profiler attached).
KernelTimes profile_kernels(const StreamWork& run, int forwards_per_run, cudaStream_t stream, int runs = 3);

}  // namespace fp4moe::cli
