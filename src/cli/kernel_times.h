// The kernels of a timed row as a profiler saw them, summed per forward, without a GPU: what `fp4moe
// bench` prints beside each row's time, as bench/gpu_timing.py's profile_kernels reports them for
// bench_moe.py (each kernel's time per forward, and the GEMMs' time: the union of the intervals in
// which a kernel whose whole name holds "gemm", in any case, ran, since kernels chained by
// programmatic dependent launch overlap).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fp4moe::cli {

struct KernelRecord {
  std::string name;  // demangled
  uint64_t start_ns = 0, end_ns = 0;
};

struct KernelTime {
  std::string name;  // short_kernel_name's
  double us_per_forward = 0, calls_per_forward = 0;
};

struct KernelTimes {
  std::vector<KernelTime> kernels;  // longest first; empty: the profiler saw none
  double gemm_us = -1;              // per forward; negative: no GEMM kernel seen
};

// A demangled kernel name without its return type, its parameters and the library's namespaces:
// "void fp4moe::cuda::(anonymous namespace)::k<fp4moe::cuda::T<1>, false>(int)" -> "k<T<1>, false>".
std::string short_kernel_name(std::string_view demangled);

// The records of `forwards` forwards, per forward.
KernelTimes summarize_kernels(const std::vector<KernelRecord>& records, int forwards);

}  // namespace fp4moe::cli
