// How the CLI times work on the GPU (../shared/spec/benchmarking.md, as bench/gpu_timing.py does it):
// a "run" enqueues work on a stream (a CUDA-graph replay of one forward, or of every weight copy's
// forward in `fp4moe bench`); runs are timed with CUDA events after warm-up, and a figure is the
// median run over the forwards a run holds. Also the two ceilings of `fp4moe bench`'s floor. CUDA
// builds only.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <functional>

#include "cuda/common/check.h"
#include "fp4moe/moe/layer.h"

namespace fp4moe::cli {

using cuda::check_cuda;

struct TimingPolicy {
  int min_runs = 20;
  int max_runs = 500;
  double target_s = 0.15;  // timed seconds per figure, beyond min_runs
  double warmup_s = 0.03;
  int min_warmup_runs = 2;
};

struct Timing {
  double us_per_forward = 0;
  int runs = 0;
};

using StreamWork = std::function<void(cudaStream_t)>;

// The median of the policy's runs of `run` on `stream`, per forward.
Timing time_runs(const StreamWork& run, int forwards_per_run, const TimingPolicy& policy, cudaStream_t stream);

// An owned non-blocking stream.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

// Device-to-device copy bandwidth of a 1 GiB copy, bytes read plus written per second.
double measure_copy_bytes_per_s(const TimingPolicy& policy, cudaStream_t stream);
// An 8192^3 BF16 matmul's rate through cuBLAS (FP32 accumulation), operations per second.
double measure_bf16_flops_per_s(const TimingPolicy& policy, cudaStream_t stream);

// What to do with a timed graph before it goes: called with its replay and its stream (`fp4moe
// bench` profiles its kernels there).
using AfterTiming = std::function<void(const StreamWork& replay, cudaStream_t stream)>;

// `forwards` (work of `forwards_per_run` forwards) run once on a stream of its own, outside the
// capture (first-call set-up), then captured in a CUDA graph and timed as its replays; then `after`.
Timing time_graph(const StreamWork& forwards, int forwards_per_run, const TimingPolicy& policy,
                  const AfterTiming& after = {});

// One forward of `layer` timed by time_graph over exactly `runs` replays, for `fp4moe run` and
// `fp4moe demo` on the CUDA backend.
Timing time_forward(MoeLayer& layer, const ForwardArgs& args, void* workspace, size_t workspace_bytes, int runs);

}  // namespace fp4moe::cli
