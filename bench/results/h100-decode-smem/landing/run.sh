#!/usr/bin/env bash
# Landing: the rule (moe/dispatch.h's ctas_per_sm_for_waves: a K-split GEMM past one wave held to three CTAs an SM
# where that takes fewer SM-waves than four), this tree's CLI and GPU test binaries built on the CPU machine and
# carried. The kernel and layer GPU tests (the capped occupancy, the new layer test against the rule off), then the
# rule on against FP4MOE_FEWER_CTAS=0 (main's launches) on one CLI: the benchmark shapes at 1-5 tokens (W4A16 three
# rounds, dynamic W4A4 two), and public models' shapes where the rule applies (W4A16, two rounds).
source bench/device.sh && dev_init fewer-ctas && dev_unpack_carried
dev_carried_gtest kernel 60
dev_carried_gtest layer 200
CLI=build-ab/fp4moe-new
SIDES="off=FP4MOE_FEWER_CTAS=0 on="
ROWS="--tokens 1,2,3,4,5 --skewed off --kernels off --mem-gib 16"
dev_env_ab w4a16 3 "--shapes all $ROWS" $SIDES > /dev/null
dev_env_ab dyn 2 "--shapes all $ROWS --mode w4a4" $SIDES > /dev/null
custom() { dev_env_ab "$1" 2 "--experts $2 --hidden $3 --intermediate $4 --top-k $5 --tokens $6 --skewed off --kernels off --mem-gib 16" $SIDES > /dev/null; }
custom gptoss20b 32 2880 2880 4 2,4,5,6
custom dsv2lite 64 2048 1408 6 3,4,5
custom qwen235b 128 4096 1536 8 1,2
custom mixtral 8 4096 14336 2 2,3,4
custom scout 16 5120 8192 1 3,8,12,24
custom kimi 384 7168 2048 8 1,2
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s |%s\n", f[2], f[4], f[6], f[7], f[8], f[9]}'
el done
