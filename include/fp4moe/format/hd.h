// Shared by host and device code: the one place that says how a function is compiled for both.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define FP4MOE_HD __host__ __device__ __forceinline__
#else
#define FP4MOE_HD inline
#endif

namespace fp4moe {

FP4MOE_HD uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
#endif
}

FP4MOE_HD float bits_to_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
#endif
}

FP4MOE_HD bool is_nan(float x) { return (float_to_bits(x) & 0x7FFFFFFFu) > 0x7F800000u; }
FP4MOE_HD bool is_finite(float x) { return (float_to_bits(x) & 0x7F800000u) != 0x7F800000u; }

// max that propagates NaN (fmaxf would drop it, and the spec forbids hiding NaN).
FP4MOE_HD float nan_max(float a, float b) { return (a > b || is_nan(a)) ? a : b; }

FP4MOE_HD constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
FP4MOE_HD constexpr int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

}  // namespace fp4moe
