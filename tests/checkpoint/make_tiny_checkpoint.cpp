// Writes the tiny BF16 checkpoint and its calibration sample; tests/data/regenerate.sh turns them
// into tests/data/tiny-nvfp4 with `fp4moe quantize`. With --biases every expert projection gets a
// bias too (the CLI tests quantize, inspect and run that one).
#include <cstdio>
#include <exception>
#include <string>

#include "checkpoint/tiny_checkpoint.h"

int main(int argc, char** argv) {
  const bool biases = argc == 3 && std::string(argv[2]) == "--biases";
  if (argc != 2 && !biases) {
    std::fprintf(stderr, "usage: %s OUT_DIR [--biases]  (writes OUT_DIR/bf16/ and OUT_DIR/calib.safetensors)\n",
                 argv[0]);
    return 2;
  }
  try {
    const std::string out = argv[1];
    fp4moe::testing::write_tiny_bf16_checkpoint(out + "/bf16", biases);
    fp4moe::testing::write_tiny_calibration(out + "/calib.safetensors");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
