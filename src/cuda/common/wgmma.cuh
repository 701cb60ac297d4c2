// Named wrappers for Hopper's warpgroup MMA (wgmma, sm_90a only): the fences around it, the
// shared-memory matrix descriptor, and the m64nNk16 BF16 instruction with A from registers (N =
// 128, 96, 64, 48, 40, 32, 24 or 16 tokens).
// A warpgroup is 4 consecutive warps starting at a warp index divisible by 4; each of its warps
// owns 16 of the 64 rows, and a warp's A and D register fragments are laid out exactly as those
// of mma.m16n8k16 (so the weight layout and the epilogues are shared with the mma.sync kernel).
#pragma once
#include <cstdint>

#include "cuda/common/ptx.cuh"

namespace fp4moe::cuda::wgmma {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FP4MOE_HAS_WGMMA 1
#else
#define FP4MOE_HAS_WGMMA 0
#endif

// The first statement of every wgmma kernel: `if (wgmma::unavailable()) return;`. The dispatch
// launches them on sm_90 only, but the sm_80 build compiles them too; there the kernel traps and its
// body is dead code, so ptxas does not lay out a kernel of trapping wrappers (it spilled one).
__device__ __forceinline__ bool unavailable() {
  if (!FP4MOE_HAS_WGMMA) __trap();
  return !FP4MOE_HAS_WGMMA;
}

// Shared memory written by ordinary stores or cp.async and read next by wgmma (the async proxy)
// needs this in each writing thread before the barrier that publishes it.
__device__ __forceinline__ void fence_proxy_async_shared() {
#if FP4MOE_HAS_WGMMA
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// Before the first wgmma that reads registers written since the last fence.
__device__ __forceinline__ void fence() {
#if FP4MOE_HAS_WGMMA
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void commit_group() {
#if FP4MOE_HAS_WGMMA
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}

template <int kPending>
__device__ __forceinline__ void wait_group() {
#if FP4MOE_HAS_WGMMA
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
#endif
}

// The compiler sees a wgmma's register operands consumed when it is issued, but the hardware reads
// A and writes D until wait_group: these empty asm statements keep such registers live and in
// place up to the point where they are called (after the wait), so they are not reused meanwhile.
template <int kCount>
__device__ __forceinline__ void fence_operands(uint32_t (&regs)[kCount]) {
#pragma unroll
  for (int i = 0; i < kCount; ++i) asm volatile("" : "+r"(regs[i])::"memory");
}
template <int kCount>
__device__ __forceinline__ void fence_operands(float (&regs)[kCount]) {
#pragma unroll
  for (int i = 0; i < kCount; ++i) asm volatile("" : "+f"(regs[i])::"memory");
}
template <int kRows, int kCount>
__device__ __forceinline__ void fence_operands(uint32_t (&regs)[kRows][kCount]) {
#pragma unroll
  for (int r = 0; r < kRows; ++r) fence_operands(regs[r]);
}

// Warp specialization: a warpgroup gives up registers (down to kRegisters per thread) so that
// another may claim them (up to kRegisters). Counts are multiples of 8 in [24, 256]; claims wait
// until enough registers were released.
template <int kRegisters>
__device__ __forceinline__ void release_registers() {
#if FP4MOE_HAS_WGMMA
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
#endif
}
template <int kRegisters>
__device__ __forceinline__ void claim_registers() {
#if FP4MOE_HAS_WGMMA
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
#endif
}

// Descriptor of a K-major BF16 tile in the 128-byte swizzle: rows of 64 elements (128 bytes),
// 16-byte chunk c of row r stored at chunk c ^ (r % 8), 8-row groups 1024 bytes apart, the tile
// 1024-byte aligned. Moving along K inside the 128-byte row is an advance of the start address.
__device__ __forceinline__ uint64_t k_major_sw128_descriptor(const void* smem) {
  const uint64_t address = ptx::smem_addr(smem);
  constexpr uint64_t kStrideBytes = 1024, kSwizzle128B = 1;
  return ((address & 0x3FFFFu) >> 4) | ((kStrideBytes >> 4) << 32) | (kSwizzle128B << 62);
}

// D[64 x 128] (+)= A[64 x 16] * B[16 x 128]: A from registers (this warp's 16 rows), B (the tokens,
// K-major) from shared memory, FP32 accumulators d[4*j + i] as mma.m16n8k16's for n8 block j.
__device__ __forceinline__ void mma_m64n128k16_bf16_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t b_desc,
                                                       bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "{%64, %65, %66, %67}, %68, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
        "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// D[64 x 96] (+)= A[64 x 16] * B[16 x 96]: the first 96 tokens, for the 128-token tile's tiles of
// 65-96 tokens.
__device__ __forceinline__ void mma_m64n96k16_bf16_rs(float (&d)[48], const uint32_t (&a)[4], uint64_t b_desc,
                                                      bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %53, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n96k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47}, "
      "{%48, %49, %50, %51}, %52, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
        "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// D[64 x 64] (+)= A[64 x 16] * B[16 x 64]: as mma_m64n128k16_bf16_rs for the first 64 tokens, half
// the tensor-core work for a token tile that holds no more (and the 64-token tile's whole tiles).
__device__ __forceinline__ void mma_m64n64k16_bf16_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t b_desc,
                                                      bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
        "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// D[64 x 32] (+)= A[64 x 16] * B[16 x 32]: the first 32 tokens, for the 64-token tile's tiles of at
// most 32 tokens and the 32- and 48-token tiles' of 25-32.
__device__ __forceinline__ void mma_m64n32k16_bf16_rs(float (&d)[16], const uint32_t (&a)[4], uint64_t b_desc,
                                                      bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %21, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, "
      "{%16, %17, %18, %19}, %20, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// D[64 x 48] (+)= A[64 x 16] * B[16 x 48]: the 48-token tile, and the 64-token tile's tiles of 33-48.
__device__ __forceinline__ void mma_m64n48k16_bf16_rs(float (&d)[24], const uint32_t (&a)[4], uint64_t b_desc,
                                                      bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %29, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n48k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23}, "
      "{%24, %25, %26, %27}, %28, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// D[64 x 40] (+)= A[64 x 16] * B[16 x 40]: the first 40 tokens, for the 48-token tile's tiles of
// 33-40 tokens.
__device__ __forceinline__ void mma_m64n40k16_bf16_rs(float (&d)[20], const uint32_t (&a)[4], uint64_t b_desc,
                                                      bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %25, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n40k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19}, "
      "{%20, %21, %22, %23}, %24, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
        "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// D[64 x 24] (+)= A[64 x 16] * B[16 x 24]: the first 24 tokens, for the 48-token tile's tiles of at
// most 24 tokens and the 32-token tile's of 17-24.
__device__ __forceinline__ void mma_m64n24k16_bf16_rs(float (&d)[12], const uint32_t (&a)[4], uint64_t b_desc,
                                                      bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %17, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n24k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11}, "
      "{%12, %13, %14, %15}, %16, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
        "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// D[64 x 16] (+)= A[64 x 16] * B[16 x 16]: the first 16 tokens, for the 32-token tile's tiles of at
// most 16 tokens.
__device__ __forceinline__ void mma_m64n16k16_bf16_rs(float (&d)[8], const uint32_t (&a)[4], uint64_t b_desc,
                                                      bool accumulate) {
#if FP4MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %13, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7}, "
      "{%8, %9, %10, %11}, %12, p, 1, 1, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b_desc), "r"(int(accumulate)));
#else
  __trap();  // the dispatch selects wgmma kernels on sm_90 devices only
#endif
}

// The RS wgmma over the first kTokens tokens (128, 96, 64, 48, 40, 32, 24 or 16): d holds kTokens / 2
// accumulators.
template <int kTokens>
__device__ __forceinline__ void mma_rs(float (&d)[kTokens / 2], const uint32_t (&a)[4], uint64_t b_desc,
                                       bool accumulate) {
  static_assert(kTokens == 128 || kTokens == 96 || kTokens == 64 || kTokens == 48 || kTokens == 40 || kTokens == 32 ||
                    kTokens == 24 || kTokens == 16,
                "an instantiated wgmma token width");
  if constexpr (kTokens == 128) mma_m64n128k16_bf16_rs(d, a, b_desc, accumulate);
  else if constexpr (kTokens == 96) mma_m64n96k16_bf16_rs(d, a, b_desc, accumulate);
  else if constexpr (kTokens == 64) mma_m64n64k16_bf16_rs(d, a, b_desc, accumulate);
  else if constexpr (kTokens == 48) mma_m64n48k16_bf16_rs(d, a, b_desc, accumulate);
  else if constexpr (kTokens == 40) mma_m64n40k16_bf16_rs(d, a, b_desc, accumulate);
  else if constexpr (kTokens == 24) mma_m64n24k16_bf16_rs(d, a, b_desc, accumulate);
  else if constexpr (kTokens == 32) mma_m64n32k16_bf16_rs(d, a, b_desc, accumulate);
  else mma_m64n16k16_bf16_rs(d, a, b_desc, accumulate);
}

}  // namespace fp4moe::cuda::wgmma
