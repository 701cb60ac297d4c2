// Kernel records summed per forward (kernel_times.h).
#include "cli/kernel_times.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

namespace fp4moe::cli {
namespace {

void erase_all(std::string& s, std::string_view part) {
  for (size_t at = s.find(part); at != std::string::npos; at = s.find(part, at)) s.erase(at, part.size());
}

// The time covered by at least one interval.
uint64_t covered_ns(std::vector<std::pair<uint64_t, uint64_t>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  uint64_t total = 0, end = 0;
  for (const auto& [start, stop] : intervals) {
    const uint64_t from = std::max(start, end);
    if (stop > from) total += stop - from;
    end = std::max(end, stop);
  }
  return total;
}

// As bench/gpu_timing.py marks them: "gemm" anywhere in the whole name, in any case, so that a GEMM
// kernel named otherwise (persistent_down_wgmma_kernel) counts by its parameters' types (GemmInput).
bool names_a_gemm(const std::string& demangled) {
  std::string lower(demangled);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return lower.find("gemm") != std::string::npos;
}

}  // namespace

std::string short_kernel_name(std::string_view demangled) {
  std::string name(demangled);
  if (name.rfind("void ", 0) == 0) name.erase(0, 5);
  for (std::string_view ns : {"(anonymous namespace)::", "fp4moe::cuda::", "fp4moe::"}) erase_all(name, ns);
  int depth = 0;  // the parameter list is the first '(' outside template arguments
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '<') ++depth;
    if (name[i] == '>') --depth;
    if (name[i] == '(' && depth == 0 && i > 0) return name.substr(0, i);
  }
  return name;
}

KernelTimes summarize_kernels(const std::vector<KernelRecord>& records, int forwards) {
  std::map<std::string, std::pair<uint64_t, int>> per_name;  // total ns, calls
  std::vector<std::pair<uint64_t, uint64_t>> gemms;
  for (const KernelRecord& r : records) {
    const std::string name = short_kernel_name(r.name);
    auto& [ns, calls] = per_name[name];
    ns += r.end_ns - r.start_ns;
    ++calls;
    if (names_a_gemm(r.name)) gemms.emplace_back(r.start_ns, r.end_ns);
  }
  KernelTimes t;
  for (const auto& [name, total] : per_name)
    t.kernels.push_back({name, double(total.first) * 1e-3 / forwards, double(total.second) / forwards});
  std::stable_sort(t.kernels.begin(), t.kernels.end(),
                   [](const KernelTime& a, const KernelTime& b) { return a.us_per_forward > b.us_per_forward; });
  if (!gemms.empty()) t.gemm_us = double(covered_ns(std::move(gemms))) * 1e-3 / forwards;
  return t;
}

}  // namespace fp4moe::cli
