#!/usr/bin/env bash
# combine_kernel<true> at 54 registers (branch wip/combine-discard-regs, combine-discard-regs.patch) against main:
# the rows where y stays in L2 and the combine discards it. Build on the CPU machine and carry (xz -9e, see
# bench/device.sh): build-ab/fp4moe-base (main), build-ab/fp4moe-new and build-ab/fp4moe_gpu_layer_tests (the branch).
set -uo pipefail
source bench/device.sh && dev_init discard-regs
dev_unpack_carried
dev_carried_gtest layer 200 '*YInL2*:*EdgeCases*'
dev_carried_gtest layer 200 '*YInL2*' racecheck
CLI=build-ab/fp4moe-base
dev_cli_ab 2 "--shapes qwen3-30b-a3b --tokens 128,256,512,768,1024,1536 --kernels list" q
dev_cli_ab 2 "--shapes gpt-oss-120b --tokens 128,256,512 --kernels list" g
dev_cli_ab 2 "--shapes deepseek-v4-flash --tokens 64,256 --kernels list" d4
dev_cli_ab 2 "--shapes deepseek-v3 --tokens 64,192 --kernels list" d3
dev_cli_ab 2 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 256,512 --mode w4a4 --kernels off" dyn
dev_print_ab
dev_results
