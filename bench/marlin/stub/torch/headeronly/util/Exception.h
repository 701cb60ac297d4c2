// The one PyTorch header that vLLM's Marlin sources need once their PyTorch bindings are left out
// (bench/marlin/build.py): STD_TORCH_CHECK, here throwing std::runtime_error, which the C entry points
// (bench/marlin/peer_marlin_error.h) catch and report.
#pragma once
#include <sstream>
#include <stdexcept>

namespace peer_marlin_stub {
template <class... Parts>
[[noreturn]] inline void fail(const char* condition, const Parts&... parts) {
  std::ostringstream message;
  message << "check failed: " << condition;
  if constexpr (sizeof...(parts) > 0) {
    message << ": ";
    (message << ... << parts);
  }
  throw std::runtime_error(message.str());
}
}  // namespace peer_marlin_stub

#define STD_TORCH_CHECK(condition, ...) \
  ((condition) ? static_cast<void>(0) : ::peer_marlin_stub::fail(#condition, ##__VA_ARGS__))
