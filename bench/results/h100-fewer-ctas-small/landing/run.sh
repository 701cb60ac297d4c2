#!/usr/bin/env bash
# Landing: the fewer-CTAs rule extended to the unsplit 8-token tiles where the GEMM runs alone and its K is at least
# 2048 (moe/dispatch.h's fewer_ctas_may_pay). This tree's CLI and GPU test binaries and main aa197bb's CLI, built on the
# CPU machine and carried: the kernel and layer GPU tests, then main against this tree in alternation on the benchmark
# shapes at 2-14 tokens (dynamic W4A4 and calibrated W4A4 two rounds, W4A16 three) and on public shapes whose caps
# changed (both modes, two rounds).
source bench/device.sh && dev_init fewer-small-landing && dev_unpack_carried
dev_carried_gtest kernel 60
dev_carried_gtest layer 200
SIDES="base=CLI=build-ab/fp4moe-base new=CLI=build-ab/fp4moe-new"
ROWS="--skewed off --kernels off --mem-gib 16"
FOUR="--shapes all --tokens 2,3,4,7,8,10,12,14 $ROWS"
dev_env_ab dyn 2 "$FOUR --mode w4a4" $SIDES > /dev/null
dev_env_ab w4a16 3 "$FOUR" $SIDES > /dev/null
dev_env_ab cal 2 "--shapes all --tokens 3,4,10,12,14 $ROWS --mode w4a4 --scales calibrated" $SIDES > /dev/null
custom() {  # TAG MODE E H I K TOKENS
  dev_env_ab "$1" 2 "--experts $3 --hidden $4 --intermediate $5 --top-k $6 --tokens $7 $ROWS --mode $2" $SIDES > /dev/null
}
custom gptoss20b-dyn w4a4 32 2880 2880 4 16,20,24,32,48
for mode in w4a4 w4a16; do
  custom "qwen235b-$mode" $mode 128 4096 1536 8 4,5
  custom "dsv2lite-$mode" $mode 64 2048 1408 6 7,8,10
  custom "kimik2-$mode" $mode 384 7168 2048 8 2,3
  custom "160-5120-$mode" $mode 160 5120 1536 6 5,6,7
done
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s |%s\n", f[2], f[4], f[6], f[7], f[8], f[9]}'
el done
