#include "fp4moe/error.h"

namespace fp4moe {

void throw_argument_error(std::string_view where, std::string_view argument, std::string_view expected,
                          std::string_view got) {
  std::string msg = "fp4moe: ";
  msg.append(where).append(": ").append(argument).append(": expected ").append(expected);
  if (!got.empty()) msg.append(", got ").append(got);
  throw Error(msg);
}

}  // namespace fp4moe
