// Writes the tiny BF16 checkpoint and its calibration sample; tests/data/regenerate.sh turns them
// into tests/data/tiny-nvfp4 with `fp4moe quantize`. With --biases every expert projection gets a
// bias too (the CLI tests quantize, inspect and run that one); with --gpt-oss-hf (--llama4-hf)
// OUT_DIR/bf16 is a gpt-oss (Llama-4) MoE layer in Hugging Face transformers' bare BF16 layout instead,
// and with --gpt-oss-mxfp4 OUT_DIR/mxfp4 one in gpt-oss's own MXFP4 format.
#include <cstdio>
#include <exception>
#include <string>

#include "checkpoint/tiny_checkpoint.h"

int main(int argc, char** argv) {
  const bool biases = argc == 3 && std::string(argv[2]) == "--biases";
  const bool gpt_oss_hf = argc == 3 && std::string(argv[2]) == "--gpt-oss-hf";
  const bool llama4_hf = argc == 3 && std::string(argv[2]) == "--llama4-hf";
  const bool gpt_oss_mxfp4 = argc == 3 && std::string(argv[2]) == "--gpt-oss-mxfp4";
  if (argc != 2 && !biases && !gpt_oss_hf && !llama4_hf && !gpt_oss_mxfp4) {
    std::fprintf(stderr,
                 "usage: %s OUT_DIR [--biases | --gpt-oss-hf | --llama4-hf | --gpt-oss-mxfp4]  (writes OUT_DIR/bf16/ "
                 "or OUT_DIR/mxfp4/, and OUT_DIR/calib.safetensors)\n",
                 argv[0]);
    return 2;
  }
  try {
    const std::string out = argv[1];
    using fp4moe::testing::GptOssLayout;
    if (gpt_oss_hf)
      fp4moe::testing::write_gpt_oss_checkpoint(out + "/bf16", fp4moe::testing::make_gpt_oss_experts(5),
                                                GptOssLayout::kHf);
    else if (gpt_oss_mxfp4)
      fp4moe::testing::write_gpt_oss_mxfp4_checkpoint(out + "/mxfp4", 5);
    else if (llama4_hf)
      fp4moe::testing::write_llama4_checkpoint(out + "/bf16", fp4moe::testing::make_gpt_oss_experts(7),
                                               GptOssLayout::kHf);
    else
      fp4moe::testing::write_tiny_bf16_checkpoint(out + "/bf16", biases);
    fp4moe::testing::write_tiny_calibration(out + "/calib.safetensors");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
