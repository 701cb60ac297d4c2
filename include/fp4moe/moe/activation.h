// The gated activations of spec section 4, over [gate | up], for host and device. Templated on the
// arithmetic type so the CPU backend's float64 reference path shares the definition.
// min/clamp are written so that a NaN operand propagates (fminf would hide it).
#pragma once
#include <cmath>
#include <type_traits>

#include "fp4moe/format/hd.h"
#include "fp4moe/moe/config.h"

namespace fp4moe {

template <class T>
FP4MOE_HD T min_keep_nan(T x, T hi) { return x > hi ? hi : x; }
template <class T>
FP4MOE_HD T clamp_keep_nan(T x, T lo, T hi) { return x > hi ? hi : (x < lo ? lo : x); }

#ifdef __CUDA_ARCH__
// 2^x by the MUFU approximation, results below 2^-126 flushed to zero (ex2.approx.ftz.f32).
__device__ __forceinline__ float exp2_approx_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
#endif

template <class T>
FP4MOE_HD T sigmoid(T x) {
#ifdef __CUDA_ARCH__
  // On the GPU, two MUFU ops: the IEEE division's slow path is a subroutine call, and in the
  // unrolled GEMM epilogues its calling convention cost spills. The approximations' relative
  // error (about 1e-6) is far below the BF16 rounding of h that follows (2^-9). The exponential is
  // __expf's (the same multiply by log2(e) in FP32, the same MUFU) without the three instructions
  // that keep its results below 2^-126: 1 + such a result rounds to 1 all the same.
  if constexpr (std::is_same_v<T, float>) return __fdividef(1.0f, 1.0f + exp2_approx_ftz(x * -0x1.715476p0f));
#endif
  using std::exp;
  return T(1) / (T(1) + exp(-x));
}

template <class T>
FP4MOE_HD T gelu_tanh(T x) {
  using std::tanh;
  const T k = T(0.7978845608028654);  // sqrt(2/pi)
  return T(0.5) * x * (T(1) + tanh(k * (x + T(0.044715) * x * x * x)));
}

template <class T>
FP4MOE_HD T apply_activation(const ActivationSpec& spec, T gate, T up) {
  const T limit = T(spec.limit);
  switch (spec.kind) {
    case Activation::kSilu:
      return gate * sigmoid(gate) * up;
    case Activation::kSiluClamped:
      return min_keep_nan(gate * sigmoid(gate), limit) * clamp_keep_nan(up, -limit, limit);
    case Activation::kSwigluOai: {
      const T g = min_keep_nan(gate, limit);
      const T u = clamp_keep_nan(up, -limit, limit);
      return g * sigmoid(T(spec.alpha) * g) * (u + T(1));
    }
    case Activation::kGeluTanh:
      return gelu_tanh(gate) * up;
  }
  return T(0);
}

}  // namespace fp4moe
