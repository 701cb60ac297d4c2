// Named wrappers for shared-memory mbarriers (sm_90): the full/empty handshake between the
// producer and consumer warps of a warp-specialized pipeline. A barrier completes a phase when its
// expected number of arrivals is reached; waiters name the phase by its parity (0, 1, 0, ...).
#pragma once
#include <cstdint>

#include "cuda/common/ptx.cuh"

namespace fp4moe::cuda::mbarrier {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define FP4MOE_HAS_SM90_MBARRIER 1
#else
#define FP4MOE_HAS_SM90_MBARRIER 0  // only the sm_90a wgmma kernels use these barriers
#endif

// One thread initializes; a __syncthreads() must follow before any other thread uses the barrier.
__device__ __forceinline__ void init(uint64_t* bar, int expected_arrivals) {
#if FP4MOE_HAS_SM90_MBARRIER
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(ptx::smem_addr(bar)), "r"(expected_arrivals)
               : "memory");
#else
  __trap();
#endif
}

// One arrival, with release semantics for this thread's earlier memory accesses.
__device__ __forceinline__ void arrive(uint64_t* bar) {
#if FP4MOE_HAS_SM90_MBARRIER
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(ptx::smem_addr(bar)) : "memory");
#else
  __trap();
#endif
}

// One arrival that also expects `bytes` more of asynchronous copies (tma.cuh) before the phase can
// complete; the thread that issues the copies makes it first.
__device__ __forceinline__ void arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
#if FP4MOE_HAS_SM90_MBARRIER
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(ptx::smem_addr(bar)), "r"(bytes)
               : "memory");
#else
  __trap();
#endif
}

// One arrival, made by the hardware once every cp.async this thread issued so far has landed.
// (.noinc: the arrival counts against the expected count given at init.)
__device__ __forceinline__ void arrive_on_cp_async(uint64_t* bar) {
#if FP4MOE_HAS_SM90_MBARRIER
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(ptx::smem_addr(bar)) : "memory");
#else
  __trap();
#endif
}

// Blocks until the phase with this parity has completed (acquire).
__device__ __forceinline__ void wait(uint64_t* bar, uint32_t parity) {
#if FP4MOE_HAS_SM90_MBARRIER
  asm volatile(
      "{\n"  // the braces scope the label: this may be inlined many times
      ".reg .pred done;\n"
      "retry:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra retry;\n"
      "}\n" ::"r"(ptx::smem_addr(bar)),
      "r"(parity)
      : "memory");
#else
  __trap();
#endif
}

}  // namespace fp4moe::cuda::mbarrier
