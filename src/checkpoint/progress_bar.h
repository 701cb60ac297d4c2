// A one-line progress bar for long checkpoint loads and conversions: drawn on stderr only when
// stderr is a terminal, so piped or logged runs stay quiet. Internal (the CLI uses it).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace fp4moe {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();  // ends the line if anything was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws at most every 100 ms, and always for the last step.
  void update(int64_t done);
  bool active() const { return active_; }

 private:
  std::string label_;
  int64_t total_;
  bool active_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace fp4moe
