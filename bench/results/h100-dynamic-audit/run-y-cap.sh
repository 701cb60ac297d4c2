#!/usr/bin/env bash
# y kept in L2 past the L2's size (y-cap-diag.patch: FP4MOE_DIAG_Y_IN_L2_CAP=3, y and h within three times the L2)
# against main f2b5835b, on the batches that takes (fp4moe kernels), W4A16 and dynamic W4A4, two rounds: whether the
# discards and the evict-first copies still pay where only part of y can stay.
set -uo pipefail
source bench/device.sh && dev_init y-cap
dev_unpack_carried
CLI=build-ab/fp4moe-new
M=CLI=build-ab/fp4moe-new C=CLI=build-ab/fp4moe-cap,FP4MOE_DIAG_Y_IN_L2_CAP=3
rows() {  # TAG "ARGS"
  dev_env_ab "$1-q" 2 "--shapes qwen3-30b-a3b --tokens 768,1024,1536 $2" main=$M cap=$C
  dev_env_ab "$1-g" 2 "--shapes gpt-oss-120b --tokens 768,1024,1536,2048 $2" main=$M cap=$C
  dev_env_ab "$1-d4" 2 "--shapes deepseek-v4-flash --tokens 512,640,768,1024 $2" main=$M cap=$C
  dev_env_ab "$1-d3" 2 "--shapes deepseek-v3 --tokens 256,384,512 $2" main=$M cap=$C
}
rows w16 "--kernels off"
rows dyn "--mode w4a4 --kernels off"
dev_print_ab
dev_results
