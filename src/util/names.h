// The names of an enum's values, as the library prints and parses them: a table in value order,
// the list an error message gives ("one of silu, silu_clamped, ..."), and the parse that throws
// with that list. Shared by the enums of moe/config.h and routing/routing.h.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "fp4moe/error.h"

namespace fp4moe::names {

inline std::string quoted(std::string_view s) {
  std::string q(1, '\'');
  return q.append(s).append(1, '\'');
}

template <size_t N>
std::string list(const std::string_view (&names)[N]) {
  std::string text = "one of ";
  for (size_t i = 0; i < N; ++i) text.append(i ? ", " : "").append(names[i]);
  return text;
}

// The value whose name is `name`; otherwise throws naming `where` and `argument`, listing the names.
template <class Enum, size_t N>
Enum parse(std::string_view name, const std::string_view (&names)[N], std::string_view where,
           std::string_view argument) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == name) return Enum(i);
  throw_argument_error(where, argument, list(names), quoted(name));
}

// The name of `value`, or "unknown" for a value outside the table.
template <class Enum, size_t N>
std::string_view of(Enum value, const std::string_view (&names)[N]) {
  const size_t i = size_t(value);
  return i < N ? names[i] : std::string_view("unknown");
}

}  // namespace fp4moe::names
