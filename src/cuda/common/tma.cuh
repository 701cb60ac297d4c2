// Named wrappers for Hopper's tensor memory accelerator (TMA, sm_90): one thread issues a copy of a
// whole box of a tensor from global to shared memory, described by a tensor map the host encoded
// (gemm/tensor_maps.h); the copy reports its bytes to an mbarrier as they land.
#pragma once
#include <cuda.h>

#include <cstdint>

#include "cuda/common/ptx.cuh"

namespace fp4moe::cuda::tma {

// The box of `map` whose first element has coordinates {c0, c1, c2, c3} (innermost first), into
// shared memory at dst (128-byte aligned), completing `bytes` on `bar` (mbarrier::arrive_expect_tx).
// Elements past the tensor's extent arrive as zeros. `map` must live in kernel-parameter, constant
// or global memory (a __grid_constant__ parameter here).
__device__ __forceinline__ void load_4d(void* dst, const CUtensorMap* map, int c0, int c1, int c2, int c3,
                                        uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
      "[%6];\n" ::"r"(ptx::smem_addr(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(ptx::smem_addr(bar))
      : "memory");
#else
  __trap();  // only the sm_90a wgmma kernels copy with TMA
#endif
}

// load_4d with an L2 policy for the lines it brings in (ptx::l2_evict_first_policy).
__device__ __forceinline__ void load_4d(void* dst, const CUtensorMap* map, int c0, int c1, int c2, int c3,
                                        uint64_t* bar, uint64_t l2_policy) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, "
      "%3, %4, %5}], [%6], %7;\n" ::"r"(ptx::smem_addr(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(ptx::smem_addr(bar)), "l"(l2_policy)
      : "memory");
#else
  __trap();  // only the sm_90a wgmma kernels copy with TMA
#endif
}

// The 2-D box of `map` whose first element is {c0, c1}, as load_4d.
__device__ __forceinline__ void load_2d(void* dst, const CUtensorMap* map, int c0, int c1, uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], "
      "[%4];\n" ::"r"(ptx::smem_addr(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(ptx::smem_addr(bar))
      : "memory");
#else
  __trap();  // only the sm_90a wgmma kernels copy with TMA
#endif
}

// Fetches the tensor map into the TMA unit's cache ahead of the first copy that uses it.
__device__ __forceinline__ void prefetch_map(const CUtensorMap* map) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
#endif
}

}  // namespace fp4moe::cuda::tma
