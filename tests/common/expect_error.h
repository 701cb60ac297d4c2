// Checks that a call throws fp4moe::Error whose message contains `expected` (tests pass the whole
// message where it is fixed, so a changed wording fails loudly).
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "fp4moe/error.h"

namespace fp4moe::testing {

template <class Fn>
void expect_error(Fn&& fn, std::string_view expected) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
        << "message: " << e.what() << "\nexpected it to contain: " << expected;
    return;
  }
  ADD_FAILURE() << "no fp4moe::Error thrown; expected: " << expected;
}

}  // namespace fp4moe::testing
