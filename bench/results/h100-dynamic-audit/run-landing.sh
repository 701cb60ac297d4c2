#!/usr/bin/env bash
# The landing: main 6fe65570's CLI against the new rule's (y in L2 from 5 MB of y below the share line, the large
# tiles' copies at the normal policy), both built on the CPU machine and carried with the new layer GPU tests.
# Every row the rule changes on the benchmark shapes (fp4moe kernels), every mode, both routings, two rounds.
set -uo pipefail
source bench/device.sh && dev_init landing
dev_unpack_carried
dev_carried_gtest layer 300
dev_carried_gtest layer 200 '*YInL2*' memcheck
CLI=build-ab/fp4moe-main
M=CLI=build-ab/fp4moe-main N=CLI=build-ab/fp4moe-new
rows() {  # TAG "ARGS"
  dev_env_ab "$1-q" 2 "--shapes qwen3-30b-a3b --tokens 64,96,128,160 $2" main=$M new=$N
  dev_env_ab "$1-g" 2 "--shapes gpt-oss-120b --tokens 64,128,192,256,384,512,640 $2" main=$M new=$N
  dev_env_ab "$1-d4" 2 "--shapes deepseek-v4-flash --tokens 32,64,96,128,192,256,384 $2" main=$M new=$N
  dev_env_ab "$1-d3" 2 "--shapes deepseek-v3 --tokens 32,48,64,96,128,192 $2" main=$M new=$N
}
rows cal "--mode w4a4 --scales calibrated --kernels off"
rows dyn "--mode w4a4 --kernels off"
rows w16 "--kernels off"
dev_print_ab
dev_results
