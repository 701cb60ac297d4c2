#!/usr/bin/env bash
# The y-in-L2 rule without its 3.5% share line (y-in-l2-diag.patch, FP4MOE_DIAG_Y_IN_L2=1) against main on every
# benchmark shape's batches where that changes the choice (fp4moe kernels: 16-640 tokens), every mode, two rounds.
set -uo pipefail
source bench/device.sh && dev_init y-line
dev_unpack_carried
CLI=build-ab/fp4moe-main
M=CLI=build-ab/fp4moe-main D=CLI=build-ab/fp4moe-diag,FP4MOE_DIAG_Y_IN_L2=1
rows() {  # TAG "ARGS"
  dev_env_ab "$1-q" 2 "--shapes qwen3-30b-a3b --tokens 32,64,128 $2" main=$M diag=$D
  dev_env_ab "$1-g" 2 "--shapes gpt-oss-120b --tokens 32,64,128,256,384,512,640 $2" main=$M diag=$D
  dev_env_ab "$1-d4" 2 "--shapes deepseek-v4-flash --tokens 32,64,128,256,384 $2" main=$M diag=$D
  dev_env_ab "$1-d3" 2 "--shapes deepseek-v3 --tokens 32,64,128,192 $2" main=$M diag=$D
}
rows dyn "--mode w4a4 --kernels off"
rows w16 "--kernels off"
rows cal "--mode w4a4 --scales calibrated --kernels off"
dev_print_ab
dev_results
