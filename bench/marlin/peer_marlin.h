// The C interface of the Marlin peer library (bench/marlin/build.py builds it from a vLLM release): vLLM's
// NVFP4 Marlin MoE GEMM, its weight repack and its token alignment, on raw device pointers, so that
// bench/peer_marlin.py can drive them through ctypes without building against PyTorch.
//
// Every entry returns 0 on success, or -1 with the reason in peer_marlin_last_error(). Nothing allocates:
// the caller passes every buffer, sized by the *_size helpers, so that a forward can be graph-captured.
#pragma once
#include <cstddef>
#include <cuda_runtime.h>

extern "C" {

const char* peer_marlin_last_error();

// The sizes vLLM's fused_marlin_moe allocates for M*top_k routed rows grouped in blocks of `block` rows.
int peer_marlin_sorted_len(int routed_rows, int experts, int block);  // int32 entries of sorted_ids
int peer_marlin_c_tmp_floats(int size_n, int sorted_len, int block, int sms);  // FP32 reduce scratch
int peer_marlin_lock_count(int sms);  // int32 locks; zeroed once, Marlin leaves them zeroed after a call

// vLLM's moe_align_block_size (no expert map): groups the ids of topk_ids [routed_rows] (int32) by expert in
// blocks of `block` rows. Writes sorted_ids [sorted_len], block_experts [ceil(sorted_len / block)],
// rows_padded [1]; cumsum is int32 scratch of experts + 1 entries.
int peer_marlin_align(const int* topk_ids, int routed_rows, int top_k, int experts, int block, int* sorted_ids,
                      int sorted_len, int* block_experts, int* rows_padded, int* cumsum, cudaStream_t stream);

// gptq_marlin_repack for 4-bit weights: in is one expert's FP4 codes as int32 [size_k / 8, size_n] (the
// checkpoint's [size_n, size_k / 2] bytes viewed as int32 and transposed); out is [size_k / 16, size_n * 2].
int peer_marlin_repack(const unsigned* in, unsigned* out, int size_k, int size_n, cudaStream_t stream);

// moe_wna16_marlin_gemm with BF16 activations, NVFP4 weights (E4M3 group scales of 16, processed as vLLM's
// prepare_nvfp4_moe_layer_for_marlin does) and BF16 output, as fused_marlin_moe calls it: FP32 reduce, no
// atomics, no bias, no zero points. c is [size_m * top_k, size_n].
int peer_marlin_gemm(const void* a, const void* b, const void* b_scales, const float* global_scales, void* c,
                     float* c_tmp, const int* sorted_ids, const int* block_experts, const int* rows_padded,
                     const float* topk_weights, int block, int experts, int top_k, int mul_topk_weights,
                     int size_m, int size_n, int size_k, int* locks, cudaStream_t stream);

// out [rows, n] = silu(in[:, :n]) * in[:, n:] (BF16 in and out, FP32 math, n a multiple of 8), the activation
// between the GEMMs.
int peer_marlin_silu_and_mul(const void* in, void* out, int rows, int n, cudaStream_t stream);

}  // extern "C"
