#include "cli/gpu_timing.h"

#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fp4moe/error.h"
#include "fp4moe/format/bf16.h"
#include "fp4moe/moe/buffer.h"

namespace fp4moe::cli {
namespace {

class Event {
 public:
  Event() { check_cuda(cudaEventCreate(&event_), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  Event(Event&& other) noexcept : event_(other.event_) { other.event_ = nullptr; }
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

double elapsed_ms(const Event& start, const Event& end) {
  float ms = 0.0f;
  check_cuda(cudaEventElapsedTime(&ms, start.get(), end.get()), "cudaEventElapsedTime");
  return ms;
}

// Runs until both the warm-up's run count and its time are reached; returns the last run's seconds.
double warm_up(const StreamWork& run, const TimingPolicy& policy, cudaStream_t stream) {
  const Event start, end;
  double total_s = 0, last_s = 0;
  for (int done = 0; done < policy.min_warmup_runs || total_s < policy.warmup_s; ++done) {
    check_cuda(cudaEventRecord(start.get(), stream), "cudaEventRecord");
    run(stream);
    check_cuda(cudaEventRecord(end.get(), stream), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(end.get()), "the warm-up runs");
    last_s = elapsed_ms(start, end) * 1e-3;
    total_s += last_s;
  }
  return last_s;
}

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("fp4moe: ") + what + ": " + cublasGetStatusString(status));
}

class CublasHandle {
 public:
  CublasHandle() { check_cublas(cublasCreate(&handle_), "cublasCreate"); }
  ~CublasHandle() { cublasDestroy(handle_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

// What `record` enqueues on a stream, captured once (global capture mode: a host sync or any other
// call unsafe in a graph fails the capture) and replayed as one launch.
class Graph {
 public:
  Graph(const StreamWork& record, cudaStream_t stream) {
    check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
    try {
      record(stream);
    } catch (...) {
      cudaGraph_t abandoned = nullptr;
      if (cudaStreamEndCapture(stream, &abandoned) == cudaSuccess && abandoned != nullptr)
        cudaGraphDestroy(abandoned);
      throw;
    }
    check_cuda(cudaStreamEndCapture(stream, &graph_), "capturing the forwards in a CUDA graph");
    check_cuda(cudaGraphInstantiate(&exec_, graph_, 0), "cudaGraphInstantiate");
  }
  ~Graph() {
    if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
    if (graph_ != nullptr) cudaGraphDestroy(graph_);
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void replay(cudaStream_t stream) const { check_cuda(cudaGraphLaunch(exec_, stream), "cudaGraphLaunch"); }

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace

Timing time_runs(const StreamWork& run, int forwards_per_run, const TimingPolicy& policy, cudaStream_t stream) {
  const double warm_s = warm_up(run, policy, stream);
  const int runs = std::min(policy.max_runs,
                            std::max(policy.min_runs, int(std::ceil(policy.target_s / std::max(warm_s, 1e-6)))));
  std::vector<Event> starts(static_cast<size_t>(runs)), ends(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    check_cuda(cudaEventRecord(starts[size_t(i)].get(), stream), "cudaEventRecord");
    run(stream);
    check_cuda(cudaEventRecord(ends[size_t(i)].get(), stream), "cudaEventRecord");
  }
  check_cuda(cudaStreamSynchronize(stream), "the timed runs");
  std::vector<double> ms(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) ms[size_t(i)] = elapsed_ms(starts[size_t(i)], ends[size_t(i)]);
  std::nth_element(ms.begin(), ms.begin() + runs / 2, ms.end());
  return {ms[size_t(runs / 2)] * 1e3 / forwards_per_run, runs};
}

Stream::Stream() { check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }
Stream::~Stream() { cudaStreamDestroy(stream_); }

Timing time_graph(const StreamWork& forwards, int forwards_per_run, const TimingPolicy& policy,
                  const AfterTiming& after) {
  const Stream stream;
  forwards(stream.get());
  check_cuda(cudaStreamSynchronize(stream.get()), "the first forwards");
  const Graph graph(forwards, stream.get());
  const StreamWork replay = [&](cudaStream_t s) { graph.replay(s); };
  const Timing timing = time_runs(replay, forwards_per_run, policy, stream.get());
  if (after) after(replay, stream.get());
  return timing;
}

Timing time_forward(MoeLayer& layer, const ForwardArgs& args, void* workspace, size_t workspace_bytes, int runs) {
  TimingPolicy policy;
  policy.min_runs = policy.max_runs = runs;
  policy.target_s = 0;
  return time_graph([&](cudaStream_t s) { layer.forward(args, workspace, workspace_bytes, s); }, 1, policy);
}

double measure_copy_bytes_per_s(const TimingPolicy& policy, cudaStream_t stream) {
  constexpr size_t kBytes = size_t(1) << 30;
  const Buffer src(Backend::kCuda, kBytes), dst(Backend::kCuda, kBytes);
  check_cuda(cudaMemsetAsync(src.data(), 0x5A, kBytes, stream), "cudaMemsetAsync");
  const Timing t = time_runs(
      [&](cudaStream_t s) {
        check_cuda(cudaMemcpyAsync(dst.data(), src.data(), kBytes, cudaMemcpyDeviceToDevice, s), "cudaMemcpyAsync");
      },
      1, policy, stream);
  return 2.0 * double(kBytes) / (t.us_per_forward * 1e-6);
}

double measure_bf16_flops_per_s(const TimingPolicy& policy, cudaStream_t stream) {
  constexpr int n = 8192;
  const size_t bytes = size_t(n) * n * sizeof(bf16);
  // The operands' values do not change a dense matmul's rate; any finite bits do (0x3F3F, about 0.75).
  const Buffer a(Backend::kCuda, bytes), b(Backend::kCuda, bytes), c(Backend::kCuda, bytes);
  check_cuda(cudaMemsetAsync(a.data(), 0x3F, bytes, stream), "cudaMemsetAsync");
  check_cuda(cudaMemsetAsync(b.data(), 0x3F, bytes, stream), "cudaMemsetAsync");
  const CublasHandle handle;
  check_cublas(cublasSetStream(handle.get(), stream), "cublasSetStream");
  const float alpha = 1.0f, beta = 0.0f;
  const Timing t = time_runs(
      [&](cudaStream_t) {
        check_cublas(cublasGemmEx(handle.get(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.data(), CUDA_R_16BF, n,
                                  b.data(), CUDA_R_16BF, n, &beta, c.data(), CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT),
                     "cublasGemmEx (BF16)");
      },
      1, policy, stream);
  return 2.0 * double(n) * n * n / (t.us_per_forward * 1e-6);
}

}  // namespace fp4moe::cli
