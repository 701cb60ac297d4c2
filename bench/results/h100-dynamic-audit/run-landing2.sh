#!/usr/bin/env bash
# The second landing: main f2b5835b's CLI against the rule past the L2 (y at least 10% of the weights, y and h within
# 2.5 times the L2), both built on the CPU machine and carried with the new layer GPU tests: the rows it changes
# (qwen3 at 768-1536 tokens) in calibrated W4A4, which run-y-cap.sh did not run, and W4A16, two rounds.
set -uo pipefail
source bench/device.sh && dev_init landing2
dev_unpack_carried
dev_carried_gtest layer 120 '*YInL2*:*EdgeCases*'
CLI=build-ab/fp4moe-main
M=CLI=build-ab/fp4moe-main N=CLI=build-ab/fp4moe-new
dev_env_ab cal 2 "--shapes qwen3-30b-a3b --tokens 768,1024,1536 --mode w4a4 --scales calibrated --kernels off" main=$M new=$N
dev_env_ab w16 2 "--shapes qwen3-30b-a3b --tokens 768,1024,1536 --kernels off" main=$M new=$N
dev_print_ab
dev_results
