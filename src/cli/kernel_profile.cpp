// CUPTI's activity API hands its records over in buffers, through two callbacks that are plain
// functions: the records of the profiling in progress go to one sink, guarded by a mutex (CUPTI may
// call back from its own thread). Concurrent-kernel records do not serialize the kernels, so the
// programmatic dependent launches overlap as they do when timed.
#include "cli/kernel_profile.h"

#include <cupti.h>
#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fp4moe/error.h"

namespace fp4moe::cli {
namespace {

constexpr size_t kBufferBytes = size_t(8) << 20;

std::mutex sink_mutex;
std::vector<KernelRecord>* sink = nullptr;

void check_cupti(CUptiResult status, const char* what) {
  if (status == CUPTI_SUCCESS) return;
  const char* reason = nullptr;
  cuptiGetResultString(status, &reason);
  throw Error(std::string("fp4moe: CUPTI: ") + what + ": " + (reason ? reason : "unknown error"));
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status), &std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(ACTIVITY_RECORD_ALIGNMENT, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  const std::lock_guard<std::mutex> lock(sink_mutex);
  CUpti_Activity* record = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid_bytes, &record) == CUPTI_SUCCESS) {
    if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || sink == nullptr) continue;
    const auto* kernel = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
    sink->push_back({demangle(kernel->name), kernel->start, kernel->end});
  }
  std::free(buffer);
}

// Where the records go while it lives; recording on from construction to stop().
class Recording {
 public:
  explicit Recording(std::vector<KernelRecord>& records) {
    static const CUptiResult registered = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
    check_cupti(registered, "cuptiActivityRegisterCallbacks");
    {
      const std::lock_guard<std::mutex> lock(sink_mutex);
      sink = &records;
    }
    check_cupti(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "recording kernels");
  }
  ~Recording() {
    cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    cuptiActivityFlushAll(1);  // forced: nothing of this recording is left for the next one
    const std::lock_guard<std::mutex> lock(sink_mutex);
    sink = nullptr;
  }
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

  void stop() {
    cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    check_cupti(cuptiActivityFlushAll(1), "cuptiActivityFlushAll");
  }
};

}  // namespace

KernelTimes profile_kernels(const StreamWork& run, int forwards_per_run, cudaStream_t stream, int runs) {
  std::vector<KernelRecord> records;
  {
    Recording recording(records);
    for (int i = 0; i < runs; ++i) run(stream);
    check_cuda(cudaStreamSynchronize(stream), "the profiled runs");
    recording.stop();
  }
  return summarize_kernels(records, runs * forwards_per_run);
}

}  // namespace fp4moe::cli
