#!/usr/bin/env bash
# y kept in L2 (evict-first weights, y's and h's lines dropped once read) below the rule's 3.5% line, where y and h
# fit in L2: gpt-oss-120b at 256-512 tokens (y 1.3% of the weights) and deepseek-v4-flash at 256. In dynamic W4A4 the
# FP32 h (23.6 MB at gpt-oss 512) is scratch too, written back and read from DRAM today. Main's CLI against
# y-in-l2-diag.patch's (FP4MOE_DIAG_Y_IN_L2=1 drops the share line), both built on the CPU machine and carried.
set -uo pipefail
source bench/device.sh && dev_init y-in-l2
dev_unpack_carried
CLI=build-ab/fp4moe-main
M=CLI=build-ab/fp4moe-main D=CLI=build-ab/fp4moe-diag,FP4MOE_DIAG_Y_IN_L2=1
dev_env_ab dyn 3 "--shapes gpt-oss-120b --tokens 256,512 --mode w4a4 --kernels off" main=$M diag=$D
dev_env_ab cal 2 "--shapes gpt-oss-120b --tokens 512 --mode w4a4 --scales calibrated --kernels off" main=$M diag=$D
dev_env_ab w16 2 "--shapes gpt-oss-120b --tokens 512 --kernels off" main=$M diag=$D
dev_env_ab dsv4 2 "--shapes deepseek-v4-flash --tokens 256 --mode w4a4 --kernels off" main=$M diag=$D
dev_print_ab
dev_results
