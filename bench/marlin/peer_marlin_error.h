// The C entry points' error convention: run the body, turn a thrown check (the stub's STD_TORCH_CHECK) or a
// CUDA launch error into -1 and a message that peer_marlin_last_error() returns.
#pragma once
#include <cuda_runtime.h>
#include <exception>
#include <string>

namespace peer_marlin {

inline std::string& last_error() {
  static thread_local std::string message;
  return message;
}

inline int fail(const std::string& message) {
  last_error() = message;
  return -1;
}

// body() enqueues work on the stream; a failed launch shows in cudaGetLastError() right after it.
template <class Body>
int guarded(const char* entry, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    return fail(std::string(entry) + ": " + e.what());
  }
  cudaError_t launched = cudaGetLastError();
  if (launched != cudaSuccess) return fail(std::string(entry) + ": " + cudaGetErrorString(launched));
  return 0;
}

}  // namespace peer_marlin
