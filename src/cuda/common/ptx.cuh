// Named wrappers for the PTX instructions the kernels use, so kernel bodies read as steps.
// All of these exist on sm_80 and later.
#pragma once
#include <cstdint>

namespace fp4moe::cuda::ptx {

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global->shared copy; when `valid` is false the destination is zero-filled and the
// source is not read (rows past an expert's tokens, K past the matrix).
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(src_bytes));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most `kPending` committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// An L2 policy under which the lines a copy brings in are the first to be evicted: for the weights
// where a forward's y should stay in L2 beside them (moe/dispatch.h's y_stays_in_l2). Each weight byte
// is read from DRAM once a forward, by token tiles that run at about the same time; y is written by
// GEMM 2 and read back by the combine, and is what L2 should keep between the two. volatile: made at
// each use, not held in two registers for the whole kernel (held, it cost a producer warp a spill).
__device__ __forceinline__ uint64_t l2_evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

// Drops the 128-byte line at `line` (128-byte aligned) from L2 without writing it back: its
// contents become undefined. For scratch that nothing reads again (y after the combine), so that
// its dirty lines cost no DRAM write when they are evicted.
__device__ __forceinline__ void discard_l2_line(const void* line) {
  asm volatile("discard.global.L2 [%0], 128;\n" ::"l"(line) : "memory");
}

// On the host: whether FP32 rows of row_floats each, from `rows` on, are whole aligned 128-byte lines, so that
// a kernel may discard every line it has read (the combine's y, h's quantization's FP32 h).
inline bool rows_are_whole_l2_lines(const float* rows, int64_t row_floats) {
  return reinterpret_cast<uintptr_t>(rows) % 128 == 0 && row_floats % 32 == 0;
}

// Global loads of data that is read once per kernel and never written while it runs (the packed
// weights): the non-coherent read-only path, and no L1 line, so the stream does not evict the
// token rows that every warp of the CTA re-reads.
__device__ __forceinline__ uint4 ld_stream_16(const void* gmem) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];\n"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(gmem));
  return v;
}

__device__ __forceinline__ uint2 ld_stream_8(const void* gmem) {
  uint2 v;
  asm("ld.global.nc.L1::no_allocate.v2.u32 {%0, %1}, [%2];\n" : "=r"(v.x), "=r"(v.y) : "l"(gmem));
  return v;
}

// Four 8x8 b16 matrices from shared memory; lane i supplies the row address of matrix i/8, row i%8.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(smem_row)));
}

// The transposes of 8x8 b16 matrices to shared memory (sm_90): lane i supplies the address of row
// i%8 of matrix i/8 as stored, and register m of every lane holds its two elements of matrix m in
// the mma.m16n8k16 accumulator layout (row lane/4, columns 2*(lane%4) and + 1); stored row c is
// the matrix's column c.
__device__ __forceinline__ void stmatrix_x4_trans(void* smem_row, const uint32_t (&r)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("stmatrix.sync.aligned.m8n8.x4.trans.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(smem_addr(smem_row)),
               "r"(r[0]), "r"(r[1]), "r"(r[2]), "r"(r[3])
               : "memory");
#else
  __trap();
#endif
}
__device__ __forceinline__ void stmatrix_x2_trans(void* smem_row, const uint32_t (&r)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("stmatrix.sync.aligned.m8n8.x2.trans.shared.b16 [%0], {%1, %2};\n" ::"r"(smem_addr(smem_row)),
               "r"(r[0]), "r"(r[1])
               : "memory");
#else
  __trap();
#endif
}

// D = A * B + D, m16n8k16, BF16 inputs, FP32 accumulators (A row-major, B column-major).
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Selects bytes of {b, a} (a = bytes 0-3, b = bytes 4-7) by the four nibbles of `selector`.
__device__ __forceinline__ uint32_t byte_perm(uint32_t a, uint32_t b, uint32_t selector) {
  return __byte_perm(a, b, selector);
}

// Barrier among `threads` threads (a multiple of 32, whole warps) that use barrier `id` (1..15;
// 0 is __syncthreads'): syncs one role of a warp-specialized CTA without stalling the others.
__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// True in exactly one active lane of the (converged) warp: the lane that issues a warp's one-thread
// operations, such as a tensor copy (tma.cuh). ptxas knows the lane is alone, so it issues the
// operation once instead of looping over the lanes that might need it.
__device__ __forceinline__ bool elect_one() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  uint32_t elected;
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "elect.sync _|p, 0xffffffff;\n"
      "selp.u32 %0, 1, 0, p;\n"
      "}\n"
      : "=r"(elected));
  return elected != 0;
#else
  return threadIdx.x % 32 == 0;
#endif
}

__device__ __forceinline__ uint32_t lanemask_lt() {
  uint32_t mask;
  asm("mov.u32 %0, %%lanemask_lt;\n" : "=r"(mask));
  return mask;
}

// Adds `value` to a device-wide counter and returns the old value, with release semantics for the
// writes that happen before it (the CTA's, after a CTA barrier) and acquire semantics for those of
// the threads whose additions came before: a semaphore at GPU scope without a full fence.
__device__ __forceinline__ uint32_t atomic_add_acq_rel_gpu(uint32_t* counter, uint32_t value) {
  uint32_t old;
  asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], %2;\n" : "=r"(old) : "l"(counter), "r"(value) : "memory");
  return old;
}

// Adds `value` to a device-wide counter, with release semantics for the writes that happen before
// it (the CTA's, after a CTA barrier); returns nothing, so it does not wait for the add.
__device__ __forceinline__ void red_add_release_gpu(uint32_t* counter, uint32_t value) {
  asm volatile("red.release.gpu.global.add.u32 [%0], %1;\n" ::"l"(counter), "r"(value) : "memory");
}

// Reads a device-wide counter with acquire semantics: the writes released before the additions it
// sees happen before this thread's later accesses.
__device__ __forceinline__ uint32_t ld_acquire_gpu(const uint32_t* counter) {
  uint32_t value;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(value) : "l"(counter) : "memory");
  return value;
}

// Orders this thread's earlier generic-proxy accesses (and what they acquired) before its later
// async-proxy ones, such as tensor copies from global memory (sm_90; below it there are none).
__device__ __forceinline__ void fence_proxy_async_global() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("fence.proxy.async.global;\n" ::: "memory");
#endif
}

// Programmatic dependent launch (sm_90): a kernel launched with launch_pdl() may start while its
// predecessor in the stream finishes. It must call grid_dependency_wait() before touching any
// memory the predecessor reads or writes; launch_dependent_grids() lets the successor start early.
// Both are no-ops below sm_90, where launch_pdl() falls back to an ordinary launch.
__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void launch_dependent_grids() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// How most kernels of the forward use the two (common/launch.h): wait for the predecessor, then
// let the successor launch. In this order, a kernel that starts knows that every kernel before its
// predecessor has ended (gemm/decode_gemm.cu relies on it).
__device__ __forceinline__ void wait_for_predecessor() {
  grid_dependency_wait();
  launch_dependent_grids();
}

}  // namespace fp4moe::cuda::ptx
