// The Marlin peer's weight repack: vLLM's gptq_marlin_repack kernel (cut from its source by build.py) for
// 4-bit codes, launched as its torch op launches it (one block per SM, all the opt-in shared memory).
#include "marlin_repack_kernel.cuh"
#include "peer_marlin.h"
#include "peer_marlin_device.h"
#include "peer_marlin_error.h"

#include <stdexcept>
#include <string>

extern "C" int peer_marlin_repack(const unsigned* in, unsigned* out, int size_k, int size_n, cudaStream_t stream) {
  return peer_marlin::guarded("peer_marlin_repack", [&] {
    if (size_k <= 0 || size_k % marlin::tile_k_size != 0 || size_n <= 0 || size_n % marlin::tile_n_size != 0)
      throw std::invalid_argument("size_k = " + std::to_string(size_k) + ", size_n = " + std::to_string(size_n) +
                                  ": expected positive multiples of " + std::to_string(marlin::tile_k_size) +
                                  " and " + std::to_string(marlin::tile_n_size));
    const int sms = peer_marlin::current_device_attribute(cudaDevAttrMultiProcessorCount);
    const int shared = peer_marlin::current_device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin);
    auto kernel = marlin::gptq_marlin_repack_kernel<marlin::repack_threads, 4>;
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared);
    kernel<<<sms, marlin::repack_threads, shared, stream>>>(in, out, size_k, size_n);
  });
}
