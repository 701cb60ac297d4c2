#!/usr/bin/env bash
# Landing, second form: three CTAs an SM only where the grid is past one wave of four even with one expert fewer
# touched, and within two waves of three (the first form, landing/, lost where the batch touched fewer experts than
# expected and at three waves and more). This tree's CLI and GPU test binaries built on the CPU machine and carried:
# the kernel and layer GPU tests, then the rule on against FP4MOE_FEWER_CTAS=0 on one CLI, the benchmark shapes at
# 2-4 tokens (W4A16 three rounds, dynamic W4A4 two) and the public shapes whose caps changed (W4A16, two rounds).
source bench/device.sh && dev_init fewer-ctas-2 && dev_unpack_carried
dev_carried_gtest kernel 60
dev_carried_gtest layer 200
CLI=build-ab/fp4moe-new
SIDES="off=FP4MOE_FEWER_CTAS=0 on="
ROWS="--tokens 2,3,4 --skewed off --kernels off --mem-gib 16"
dev_env_ab w4a16 3 "--shapes all $ROWS" $SIDES > /dev/null
dev_env_ab dyn 2 "--shapes all $ROWS --mode w4a4" $SIDES > /dev/null
custom() {
  dev_env_ab "$1" 2 "--experts $2 --hidden $3 --intermediate $4 --top-k $5 --tokens $6 --skewed off --kernels off \
    --mem-gib 16" $SIDES > /dev/null
}
custom dsv2lite 64 2048 1408 6 3,4
custom scout 16 5120 8192 1 3,12
custom gptoss20b 32 2880 2880 4 2,4,5
custom qwen235b 128 4096 1536 8 2
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s |%s\n", f[2], f[4], f[6], f[7], f[8], f[9]}'
el done
