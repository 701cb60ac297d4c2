#!/usr/bin/env bash
# Seventieth session, H100, one call. Branch wip/x-own-amax-69 (efffa5e, on main 3797ddd): dynamic W4A4's grouped
# forward quantizes x by CTAs that each take the amax of all of x themselves, during the routing plan, where x has at
# most kOwnAmaxMaxElements elements (qwen3 to 32 tokens, gpt-oss 22, deepseek-v4-flash 16, deepseek-v3 9), instead
# of an amax kernel and then the quantization: one kernel link fewer. The decode forward's quantization (the same
# kernel, waiting first) has four loads a thread in flight for the amax. Level on an H200 (h200-x-own-amax/).
# Carried, built on the CPU machine and stripped, in build-ab/clis.tar.xz: main's CLI (fp4moe-base), the branch's CLI
# (fp4moe-new) and the branch's three GPU test binaries. The tests, the new test under memcheck and the quantization
# test under racecheck, then dynamic W4A4 at 1-32 tokens on every shape, uniform, three alternating rounds; the
# branch with FP4MOE_X_OWN_AMAX=0 beside it at 1-2 tokens (the decode forward, which only the loads change) and 4-8.
source bench/device.sh && dev_init x-own-amax && dev_unpack_carried
dev_carried_gtest dispatch 60
dev_carried_gtest kernel 150
dev_carried_gtest layer 240
dev_carried_gtest layer 150 'GpuLayer.XOwnAmaxEqualsTheAmaxKernel:GpuLayer.EdgeCases' memcheck
dev_carried_gtest kernel 60 'GpuQuantize.*' racecheck
B=CLI=build-ab/fp4moe-base
N=CLI=build-ab/fp4moe-new
dev_env_ab dyn 3 "--shapes all --tokens 1,2,4,8,16,32 --skewed off --mode w4a4 --kernels off --mem-gib 16" base=$B new=$N
dev_env_ab off 2 "--shapes all --tokens 1,2,4,8 --skewed off --mode w4a4 --kernels off --mem-gib 16" \
  off=$N,FP4MOE_X_OWN_AMAX=0 new=$N
dev_print_ab
dev_results
