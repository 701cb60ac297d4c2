// Relative error and conversions (compare.h).
#include "common/compare.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace fp4moe::testing {

double rel_error(const double* a, const double* b, size_t n) {
  double diff2 = 0, ref2 = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::isnan(a[i]) || std::isnan(b[i])) return std::numeric_limits<double>::infinity();
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] == b[i]) continue;
      return std::numeric_limits<double>::infinity();
    }
    diff2 += (a[i] - b[i]) * (a[i] - b[i]);
    ref2 += b[i] * b[i];
  }
  if (diff2 == 0) return 0;
  if (ref2 == 0) return std::numeric_limits<double>::infinity();
  return std::sqrt(diff2 / ref2);
}

double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("rel_error: sizes differ");
  return rel_error(a.data(), b.data(), a.size());
}

double rel_error(const std::vector<bf16>& a, const std::vector<double>& b) { return rel_error(to_double(a), b); }

std::vector<double> to_double(const std::vector<bf16>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_float(v[i]);
  return out;
}

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

bool any_nan(const std::vector<bf16>& v) {
  for (bf16 x : v)
    if (std::isnan(bf16_to_float(x))) return true;
  return false;
}

}  // namespace fp4moe::testing
