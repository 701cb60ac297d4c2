#!/usr/bin/env bash
# Where the share-less y-in-L2 rule gains and loses (run-y-line.sh): per-kernel times (CUPTI) of main's CLI and the
# diagnostic's, W4A16, both routings, two rounds.
set -uo pipefail
source bench/device.sh && dev_init y-kernels
dev_unpack_carried
CLI=build-ab/fp4moe-main
M=CLI=build-ab/fp4moe-main D=CLI=build-ab/fp4moe-diag,FP4MOE_DIAG_Y_IN_L2=1
dev_env_ab k-q 2 "--shapes qwen3-30b-a3b --tokens 64 --kernels list" main=$M diag=$D
dev_env_ab k-d3 2 "--shapes deepseek-v3 --tokens 64 --kernels list" main=$M diag=$D
dev_env_ab k-d4 2 "--shapes deepseek-v4-flash --tokens 128,256 --kernels list" main=$M diag=$D
dev_env_ab k-g 2 "--shapes gpt-oss-120b --tokens 64,256 --kernels list" main=$M diag=$D
dev_print_ab
dev_results
