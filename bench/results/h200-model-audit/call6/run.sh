#!/usr/bin/env bash
# Fifty-sixth session, call 6 (leads for the next session, nothing to land): two of call 2's single-round misses in
# three alternating rounds, one CLI of this tree (main with the K-split band), W4A16 uniform: llama4-scout at 64
# tokens (4 rows per expert; the wave rule gives GEMM 1 64-row and GEMM 2 128-row blocks) against both GEMMs on the
# 64-row and on the 128-row 8-token tile, and mixtral at 4 tokens against both GEMMs on four slices.
source bench/device.sh && dev_init leads
dev_cli
A="--skewed off --kernels off --mem-gib 24"
dev_env_ab scout64 3 "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 64 $A" table= \
  r64=FP4MOE_GEMM=mma8-r64-w4-s8-d4 r128=FP4MOE_GEMM=mma8-r128-w4-s8-d4
dev_env_ab mix4 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 4 $A" table= \
  k4=FP4MOE_GEMM=mma8-r64-w4-s8-d4-k4
el end
