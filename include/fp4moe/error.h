// The one exception type of the library. Every rejected input names the function, the argument
// and what was expected, e.g.
//   "fp4moe: MoeConfig: hidden: expected a positive multiple of 16, got 100".
#pragma once
#include <stdexcept>
#include <type_traits>
#include <string>
#include <string_view>

namespace fp4moe {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_argument_error(std::string_view where, std::string_view argument,
                                       std::string_view expected, std::string_view got);

// Throws the message above when `ok` is false. `got` is only formatted on failure.
template <class Got>
void require(bool ok, std::string_view where, std::string_view argument, std::string_view expected,
             const Got& got) {
  if (ok) return;
  if constexpr (std::is_convertible_v<Got, std::string_view>) {
    throw_argument_error(where, argument, expected, std::string_view(got));
  } else {
    throw_argument_error(where, argument, expected, std::to_string(got));
  }
}

}  // namespace fp4moe
