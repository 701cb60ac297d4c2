// The Marlin peer's GEMM entry: vLLM's marlin_mm host code (cut from its ops.cu by build.py) called the way
// fused_marlin_moe calls it for an NVFP4 layer on BF16 activations, plus the SwiGLU between the two GEMMs.
#include "marlin_moe_host.cuh"
#include "peer_marlin.h"
#include "peer_marlin_device.h"
#include "peer_marlin_error.h"

#include <algorithm>
#include <cuda_bf16.h>
#include <stdexcept>
#include <string>

namespace {

int device_sms() { return peer_marlin::current_device_attribute(cudaDevAttrMultiProcessorCount); }

constexpr int kActivationVector = 8;  // BF16 elements per 16-byte load and store

// One thread per 8 outputs, 16-byte loads and stores (n is a multiple of 8), as vLLM's own act-and-mul
// kernel vectorizes: the activation of a prefill batch is a bandwidth-bound pass over [rows, 3n] BF16.
__global__ void silu_and_mul_kernel(const uint4* in, uint4* out, long long vectors, int n_vectors) {
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < vectors;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long row = i / n_vectors, col = i % n_vectors;
    const uint4 gate_bits = in[row * 2 * n_vectors + col], up_bits = in[row * 2 * n_vectors + n_vectors + col];
    const auto* gate = reinterpret_cast<const __nv_bfloat162*>(&gate_bits);
    const auto* up = reinterpret_cast<const __nv_bfloat162*>(&up_bits);
    uint4 result;
    auto* h = reinterpret_cast<__nv_bfloat162*>(&result);
    for (int j = 0; j < kActivationVector / 2; ++j) {
      const float2 g = __bfloat1622float2(gate[j]), u = __bfloat1622float2(up[j]);
      h[j] = __floats2bfloat162_rn(g.x / (1.0f + __expf(-g.x)) * u.x, g.y / (1.0f + __expf(-g.y)) * u.y);
    }
    out[i] = result;
  }
}

}  // namespace

extern "C" {

const char* peer_marlin_last_error() { return peer_marlin::last_error().c_str(); }

int peer_marlin_lock_count(int sms) { return sms * 4; }  // vLLM's MARLIN_MAX_BLOCKS_PER_SM locks per SM

int peer_marlin_c_tmp_floats(int size_n, int sorted_len, int block, int sms) {
  // moe_wna16_marlin_gemm's FP32 reduce buffer, doubled for 8-row blocks as there.
  long long floats = std::min(static_cast<long long>(size_n) * sorted_len,
                              static_cast<long long>(sms) * 4 * block * marlin_moe_wna16::max_thread_n);
  return static_cast<int>(block == 8 ? 2 * floats : floats);
}

int peer_marlin_gemm(const void* a, const void* b, const void* b_scales, const float* global_scales, void* c,
                     float* c_tmp, const int* sorted_ids, const int* block_experts, const int* rows_padded,
                     const float* topk_weights, int block, int experts, int top_k, int mul_topk_weights,
                     int size_m, int size_n, int size_k, int* locks, cudaStream_t stream) {
  return peer_marlin::guarded("peer_marlin_gemm", [&] {
    int device = 0;
    cudaGetDevice(&device);
    marlin_moe_wna16::marlin_mm(
        a, b, c, c_tmp, /*b_bias=*/nullptr, const_cast<void*>(b_scales), const_cast<float*>(global_scales),
        /*zp=*/nullptr, const_cast<int*>(sorted_ids), const_cast<int*>(block_experts),
        const_cast<int*>(rows_padded), const_cast<float*>(topk_weights), block, experts, top_k,
        mul_topk_weights != 0, size_m, size_n, size_k, locks, vllm::kBFloat16, vllm::kFE2M1f, vllm::kBFloat16,
        vllm::kFE4M3fn, /*has_bias=*/false, /*has_zp=*/false, /*group_size=*/16, device, stream,
        /*thread_k=*/-1, /*thread_n=*/-1, device_sms(), /*blocks_per_sm=*/-1, /*use_atomic_add=*/false,
        /*use_fp32_reduce=*/true, /*is_zp_float=*/false);
  });
}

int peer_marlin_silu_and_mul(const void* in, void* out, int rows, int n, cudaStream_t stream) {
  return peer_marlin::guarded("peer_marlin_silu_and_mul", [&] {
    if (rows <= 0 || n <= 0 || n % kActivationVector != 0)
      throw std::invalid_argument("rows = " + std::to_string(rows) + ", n = " + std::to_string(n) +
                                  ": expected rows > 0 and n a positive multiple of 8");
    const int n_vectors = n / kActivationVector;
    const long long vectors = static_cast<long long>(rows) * n_vectors;
    const int threads = 256;
    const int blocks = static_cast<int>(std::min<long long>((vectors + threads - 1) / threads, 8LL * device_sms()));
    silu_and_mul_kernel<<<blocks, threads, 0, stream>>>(static_cast<const uint4*>(in), static_cast<uint4*>(out),
                                                        vectors, n_vectors);
  });
}

}  // extern "C"
