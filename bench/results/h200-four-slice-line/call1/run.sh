#!/usr/bin/env bash
# Fifty-fifth session, call 1: main 6735fda's GPU tests (b5b8003 had not run on a GPU), then the four-slice tile's
# K-step line (moe/dispatch.h's for_grid, kFourSliceMinSteps = 10): custom square shapes of 64 experts, top-2,
# hidden = intermediate = 2048..3072 (8..12 K steps of 64 a slice on four slices, both GEMMs alike; at one token both
# GEMMs' CTAs fit one wave of the four-slice tile), the table against both GEMMs forced to the two-slice and to the
# four-slice one-token tile, one CLI (the GPU tests' build), alternating, three rounds, W4A16, one token.
source bench/device.sh && dev_init four-slice-line
dev_gpu_test 330
CLI=/tmp/build-gpu/src/cli/fp4moe
for size in 2048 2304 2560 2816 3072; do
  dev_env_ab "s$size" 3 "--experts 64 --hidden $size --intermediate $size --top-k 2 --tokens 1 --skewed off \
--kernels off --mem-gib 8" table= k2=FP4MOE_GEMM=mma8-r64-w4-s8-d4-k2 k4=FP4MOE_GEMM=mma8-r64-w4-s8-d4-k4
done
el end
