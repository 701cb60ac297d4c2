// The one numeric comparison of the tests: relative Frobenius error over doubles, where a NaN on
// one side only counts as an infinite error, so a hidden or invented NaN can never pass.
#pragma once
#include <cstddef>
#include <vector>

#include "fp4moe/format/bf16.h"

namespace fp4moe::testing {

// ||a - b|| / ||b||: a measured, b the reference. Elements NaN on both sides are skipped;
// NaN (or Inf) on one side only gives +inf. 0 when both are all zero.
double rel_error(const double* a, const double* b, size_t n);
double rel_error(const std::vector<double>& a, const std::vector<double>& b);
double rel_error(const std::vector<bf16>& a, const std::vector<double>& b);

std::vector<double> to_double(const std::vector<bf16>& v);
std::vector<double> to_double(const std::vector<float>& v);

// True when some element is NaN (an unwritten element of a NaN-poisoned output shows as one).
bool any_nan(const std::vector<bf16>& v);

}  // namespace fp4moe::testing
