#!/usr/bin/env bash
# Eighty-first session, H100: qwen3-30b-a3b at 3-5 rows an expert (48-80 tokens), where the table runs the 8-token
# tile's 64-row form (the wave rule's tie: both forms take as many whole waves, and the tie keeps the 64-row one),
# against the 128-row form forced (FP4MOE_GEMM=mma8-r128-w4-s8-d4; forced tiles skip only rules these rows do not
# take: the K split, the large tiles, fewer CTAs an SM). The fifty-eighth session (H200, W4A16) saw the tie given to
# the 128-row form 1.9% faster at qwen3 T=64 but up to 13% slower at 4-12 tokens (under one row an expert); the
# dynamic W4A4 skewed row at 64 tokens stands at 1.31x the floor (#6's line: 1.3). Every mode, both routings, two
# rounds. The CLI: build-ab/clis.tar.xz's fp4moe-diag with its switch unset, whose `fp4moe kernels` equals main
# 9adb4d95's on the four benchmark shapes at 48-80 tokens in every mode.
source bench/device.sh && dev_init t64-r128 && dev_unpack_carried
CLI=build-ab/fp4moe-diag
ROWS="--shapes qwen3-30b-a3b --tokens 48,56,64,72,80 --kernels off --mem-gib 16"
dev_env_ab w4a16 2 "$ROWS" table= r128=FP4MOE_GEMM=mma8-r128-w4-s8-d4 > /dev/null
dev_env_ab dyn 2 "$ROWS --mode w4a4" table= r128=FP4MOE_GEMM=mma8-r128-w4-s8-d4 > /dev/null
dev_env_ab cal 2 "$ROWS --mode w4a4 --scales calibrated" table= r128=FP4MOE_GEMM=mma8-r128-w4-s8-d4 > /dev/null
dev_results
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s %s |%s\n", f[3], f[4], f[5], f[6], f[7], f[8], f[9]}'
el done
