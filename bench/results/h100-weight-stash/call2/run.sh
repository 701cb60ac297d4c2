#!/usr/bin/env bash
# Call 2: which GEMM's stash moves which row, and what the stash's shared memory alone costs. stash-diag.patch (stash.patch
# plus FP4MOE_DIAG_STASH: bit 0 GEMM 1, bit 1 GEMM 2, default 3) built on the CPU machine as fp4moe-diag; base = main c59f008.
# Sides: base; s0 (the stash's 24 KB a CTA allocated, unused); s1 (GEMM 1's stash only); s2 (GEMM 2's only); s3 (both).
source bench/device.sh && dev_init stash-diag && dev_unpack_carried
D=build-ab/fp4moe-diag
SIDES="base=CLI=build-ab/fp4moe-base s0=CLI=$D,FP4MOE_DIAG_STASH=0 s1=CLI=$D,FP4MOE_DIAG_STASH=1 s2=CLI=$D,FP4MOE_DIAG_STASH=2 s3=CLI=$D,FP4MOE_DIAG_STASH=3"
ROWS="--shapes qwen3-30b-a3b --tokens 1,2 --skewed off --kernels off --mem-gib 16"
dev_env_ab w4a16 2 "$ROWS" $SIDES > /dev/null
dev_env_ab dyn 2 "$ROWS --mode w4a4" $SIDES > /dev/null
dev_print_ab
el done
