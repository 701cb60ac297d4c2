// An independent scalar NVFP4 codec for tests, written from the spec rather than from nvfp4.h:
// decoding by formula, encoding by brute-force search for the nearest code (ties to the even
// code), the block quantizer spelled out with the spec's float operations. Slow, obviously right.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

namespace fp4moe::testing::scalar {

inline double e2m1_value(uint8_t code) {
  static constexpr double kMagnitude[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  const double v = kMagnitude[code & 7];
  return (code & 8) ? -v : v;
}

inline double e4m3_value(uint8_t code) {
  const int exp = (code >> 3) & 15, man = code & 7;
  if (exp == 15 && man == 7) return std::numeric_limits<double>::quiet_NaN();
  const double mag = exp == 0 ? std::ldexp(man, -9) : std::ldexp(1.0 + man / 8.0, exp - 7);
  return (code & 0x80) ? -mag : mag;
}

// Nearest of codes [0, count) by value(code), ties to the even code; the sign bit is added after.
template <class Value>
uint8_t nearest_code(double magnitude, int count, Value value) {
  int best = 0;
  for (int c = 1; c < count; ++c) {
    const double d = std::fabs(value(uint8_t(c)) - magnitude), best_d = std::fabs(value(uint8_t(best)) - magnitude);
    if (d < best_d || (d == best_d && c % 2 == 0)) best = c;
  }
  return uint8_t(best);
}

// Everything past the largest code saturates to it; E2M1 has no NaN, a NaN becomes +6.
inline uint8_t e2m1_encode(float x) {
  if (std::isnan(x)) return 7;
  const uint8_t sign = std::signbit(x) ? 8 : 0;
  if (std::fabs(x) >= 6.0) return sign | 7;
  return sign | nearest_code(std::fabs(double(x)), 8, e2m1_value);
}

inline uint8_t e4m3_encode(float x) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  if (std::isnan(x)) return sign | 0x7F;
  if (std::fabs(x) >= 448.0) return sign | 0x7E;
  return sign | nearest_code(std::fabs(double(x)), 0x7F, e4m3_value);
}

// Spec section 2 for one block of 16, with the spec's float operations.
inline float global_scale(float amax) {
  if (amax == 0.0f) return 1.0f;
  if (!std::isfinite(amax)) return std::numeric_limits<float>::quiet_NaN();
  return std::fmin(2688.0f / amax, 0x1p118f);
}

inline uint8_t quantize_block(const float* x, float global, uint8_t* codes /* 16, unpacked */) {
  float vmax = 0.0f;
  bool nan = false;
  for (int i = 0; i < 16; ++i) {
    nan |= std::isnan(x[i]);
    vmax = std::fmax(vmax, std::fabs(x[i]));
  }
  if (nan) vmax = std::numeric_limits<float>::quiet_NaN();
  const float scaled = global * vmax;
  const uint8_t s = e4m3_encode(scaled / 6.0f);
  const float sf = float(e4m3_value(s));
  const float inv = sf == 0.0f ? 0.0f : global / sf;
  for (int i = 0; i < 16; ++i) codes[i] = e2m1_encode(x[i] * inv);
  return s;
}

}  // namespace fp4moe::testing::scalar
