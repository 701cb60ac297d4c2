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

#include "cuda/common/check.h"

namespace fp4moe::cuda {

// sm_90 (Hopper): programmatic dependent launch, and the wgmma kernels (built for sm_90a);
// queried once per device by the layer.
inline bool device_is_hopper(int device) {
  int major = 0, minor = 0;
  check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "compute capability");
  check_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "compute capability");
  return major == 9 && minor == 0;
}

// The device's SMs and its L2 in bytes (moe/dispatch.h's DeviceWaves::sms and ::l2_bytes).
inline int device_sms(int device) {
  int sms = 0;
  check_cuda(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "SM count");
  return sms;
}
inline int64_t device_l2_bytes(int device) {
  int bytes = 0;
  check_cuda(cudaDeviceGetAttribute(&bytes, cudaDevAttrL2CacheSize, device), "L2 size");
  return bytes;
}

// Where and how a forward kernel is launched.
struct Launch {
  cudaStream_t stream = nullptr;
  bool pdl = false;
};

template <class... KernelArgs, class... Args>
void launch_kernel(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem, const Launch& launch,
                   const char* name, Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = launch.stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = launch.pdl ? 1 : 0;
  check_cuda(cudaLaunchKernelEx(&config, kernel, static_cast<KernelArgs>(args)...), name);
}

}  // namespace fp4moe::cuda
