#!/usr/bin/env bash
# The share-less y-in-L2 rule (side a) against it with the large tiles' weight copies at the normal L2 policy (side
# b: y-in-l2-diag2.patch, FP4MOE_DIAG_LARGE_NORMAL=1), both against main: run-y-line.sh's skewed losses were on
# batches with large tiles, whose hot experts' weights several large CTAs read. W4A16 and dynamic W4A4, two rounds.
set -uo pipefail
source bench/device.sh && dev_init y-large
dev_unpack_carried
CLI=build-ab/fp4moe-main
M=CLI=build-ab/fp4moe-main A=CLI=build-ab/fp4moe-diag2,FP4MOE_DIAG_Y_IN_L2=1
B=CLI=build-ab/fp4moe-diag2,FP4MOE_DIAG_Y_IN_L2=1,FP4MOE_DIAG_LARGE_NORMAL=1
rows() {  # TAG "ARGS"
  dev_env_ab "$1-g" 2 "--shapes gpt-oss-120b --tokens 64,128,256,512 $2" main=$M a=$A b=$B
  dev_env_ab "$1-d4" 2 "--shapes deepseek-v4-flash --tokens 64,128,256 $2" main=$M a=$A b=$B
  dev_env_ab "$1-d3" 2 "--shapes deepseek-v3 --tokens 64,128,192 $2" main=$M a=$A b=$B
}
rows w16 "--kernels off"
rows dyn "--mode w4a4 --kernels off"
dev_print_ab
dev_results
