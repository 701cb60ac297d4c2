// Kernel launches of the forward pass. Every kernel of the forward waits on its predecessor before
// it touches memory that a kernel still running may write, and before it ends, so all of them may be
// launched with programmatic dependent launch: the next kernel is resident when the previous one
// ends, which hides the launch gap (microseconds each, a large part of a decode step), and each
// kernel's end still implies every earlier one's. Most wait first and then let the next kernel
// launch (ptx::wait_for_predecessor), so a kernel that starts knows that every kernel before its
// predecessor has ended. What was in place before the forward began (the caller's x) may be read
// before the wait: the sorted-row copy in W4A16, and W4A4's amax and x's quantization, which also
// let the next kernel launch first (quant/quantize.cu), so GEMM 1 after them relies only on its own
// wait. A grouped GEMM launched beside its predecessor (gemm/grouped_gemm.h's GemmOrder::kBeside)
// reads only what its predecessor waited for before this launch could start, waits per tile on
// counters where it needs its predecessor's output, and waits for the predecessor itself before it
// exits.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "cuda/common/check.h"

namespace fp4moe::cuda {

// One attribute of CUDA device `device`; `what` names it in the error.
inline int device_attribute(cudaDeviceAttr attribute, int device, const char* what) {
  int value = 0;
  check_cuda(cudaDeviceGetAttribute(&value, attribute, device), what);
  return value;
}

// sm_90 (Hopper): programmatic dependent launch, and the wgmma kernels (built for sm_90a);
// queried once per device by the layer.
inline bool device_is_hopper(int device) {
  return device_attribute(cudaDevAttrComputeCapabilityMajor, device, "compute capability") == 9 &&
         device_attribute(cudaDevAttrComputeCapabilityMinor, device, "compute capability") == 0;
}

// The device's SMs and its L2 in bytes (moe/dispatch.h's DeviceWaves::sms and ::l2_bytes).
inline int device_sms(int device) { return device_attribute(cudaDevAttrMultiProcessorCount, device, "SM count"); }
inline int64_t device_l2_bytes(int device) { return device_attribute(cudaDevAttrL2CacheSize, device, "L2 size"); }

// Where and how a forward kernel is launched. ctas_per_sm > 0 holds the kernel to at most that many
// CTAs per SM (capped_smem_bytes), where the dispatch finds that fewer fill the last wave better
// (moe/dispatch.h's ctas_per_sm_for_waves); 0 lets as many be resident as fit.
struct Launch {
  cudaStream_t stream = nullptr;
  bool pdl = false;
  int ctas_per_sm = 0;
  Launch capped(int ctas) const { return {stream, pdl, ctas}; }
};

// The dynamic shared memory that holds a kernel to at most `ctas` CTAs per SM: the SM's shared memory (per_sm) over
// ctas + 1, less what each CTA reserves and holds statically, and one allocation unit more, so that one CTA more does
// not fit; `smem` (what the kernel uses) where that is already more, or where its static and reserved share alone keep
// a CTA more out; never more than a CTA may have (per_cta_limit, the opt-in maximum, less its static share).
inline size_t padded_smem_bytes(int64_t per_sm, int64_t reserved, int64_t static_bytes, int64_t per_cta_limit,
                                size_t smem, int ctas) {
  constexpr int64_t kUnit = 128;  // shared memory is allocated in units of 128 bytes
  const int64_t fill = per_sm / (ctas + 1) - reserved - static_bytes + kUnit;
  const int64_t most = per_cta_limit - static_bytes;
  return std::max<int64_t>(int64_t(smem), std::min(fill, most));
}

// Raises `kernel`'s dynamic shared-memory limit on the current device to `bytes`, never lowers it: the limit one launch
// raised (capped_smem_bytes, whose answers are kept) must hold for every later one, a layer created after it included.
inline void raise_smem_limit(const void* kernel, size_t bytes, const char* what) {
  cudaFuncAttributes attributes{};
  check_cuda(cudaFuncGetAttributes(&attributes, kernel), what);
  if (bytes > size_t(attributes.maxDynamicSharedSizeBytes))
    check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)), what);
}

// padded_smem_bytes for `kernel` on the current device. The padding is never touched. Raises the kernel's limit beyond
// the default 48 KB where it must. The answer for a (device, kernel, smem, ctas) never changes, and finding it costs
// several driver queries, so it is kept: an eager forward asks for it on every capped launch.
inline size_t capped_smem_bytes(const void* kernel, size_t smem, int ctas) {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  using Key = std::tuple<int, const void*, size_t, int>;
  static std::mutex mutex;
  static std::map<Key, size_t> answers;
  const Key key{device, kernel, smem, ctas};
  std::lock_guard<std::mutex> lock(mutex);
  if (const auto found = answers.find(key); found != answers.end()) return found->second;
  cudaFuncAttributes attributes{};
  check_cuda(cudaFuncGetAttributes(&attributes, kernel), "kernel attributes");
  const size_t bytes =
      padded_smem_bytes(device_attribute(cudaDevAttrMaxSharedMemoryPerMultiprocessor, device, "shared memory"),
                        device_attribute(cudaDevAttrReservedSharedMemoryPerBlock, device, "shared memory"),
                        int64_t(attributes.sharedSizeBytes),
                        device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, device, "shared memory"), smem, ctas);
  raise_smem_limit(kernel, bytes, "kernel shared memory");
  answers.emplace(key, bytes);
  return bytes;
}

template <class... KernelArgs, class... Args>
void launch_kernel(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem, const Launch& launch,
                   const char* name, Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  const void* address = reinterpret_cast<const void*>(kernel);
  config.dynamicSmemBytes = launch.ctas_per_sm > 0 ? capped_smem_bytes(address, smem, launch.ctas_per_sm) : smem;
  config.stream = launch.stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = launch.pdl ? 1 : 0;
  check_cuda(cudaLaunchKernelEx(&config, kernel, static_cast<KernelArgs>(args)...), name);
}

}  // namespace fp4moe::cuda
