#!/usr/bin/env bash
# Call 1: the unsplit 8-token tiles (eight CTAs an SM, the two-m-tile one five) held to fewer CTAs an SM, per GEMM.
# fewer-diag.patch (main aa197bb plus FP4MOE_DIAG_FEWER1/2=n: GEMM 1's / GEMM 2's CTAs an SM, n fewer than fit)
# built on the CPU machine and carried. Sides, one CLI: base; f1 (GEMM 1 one fewer); f2 (GEMM 2 one fewer);
# f22 (GEMM 2 two fewer); f11 (both one fewer). Rows: every shape at 3-12 tokens, uniform, where grids of these tiles
# are one to two waves on some shapes (GEMM 2: qwen3 T=6-8, gpt-oss T=8-12, deepseek-v4-flash T=4, deepseek-v3 T=2;
# GEMM 1: qwen3 T=10-12, deepseek-v4-flash T=4, deepseek-v3 T=3) and not on the others.
source bench/device.sh && dev_init fewer-small && dev_unpack_carried
CLI=build-ab/fp4moe-diag
SIDES="base= f1=FP4MOE_DIAG_FEWER1=1 f2=FP4MOE_DIAG_FEWER2=1 f22=FP4MOE_DIAG_FEWER2=2 f11=FP4MOE_DIAG_FEWER1=1,FP4MOE_DIAG_FEWER2=1"
ROWS="--shapes all --tokens 3,4,6,8,10,12 --skewed off --kernels off --mem-gib 16"
dev_env_ab dyn 2 "$ROWS --mode w4a4" $SIDES > /dev/null
dev_env_ab w4a16 2 "$ROWS" $SIDES > /dev/null
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s |%s\n", f[2], f[4], f[8], f[9]}'
el done
