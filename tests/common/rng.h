// The seeded generator of every test: splitmix64, fast enough to fill gigabytes of random weights
// (8 bytes per step) and splittable, so parallel generation gives the same data for any thread count.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace fp4moe::testing {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // An independent stream for sub-task `stream` (an expert, a matrix), not advancing this one.
  Rng split(uint64_t stream) const { return Rng(Rng(state_ ^ (stream * 0xD1B54A32D192ED03ull)).next()); }

  double uniform() { return double(next() >> 11) * 0x1p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int below(int n) { return int(next() % uint64_t(n)); }  // [0, n); the bias is negligible for test sizes

  double normal() {  // Box-Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  void fill_bytes(uint8_t* dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = next();
      std::memcpy(dst + i, &v, 8);
    }
    if (i < n) {
      const uint64_t v = next();
      std::memcpy(dst + i, &v, n - i);
    }
  }

 private:
  uint64_t state_;
};

}  // namespace fp4moe::testing
