#!/usr/bin/env bash
# Fifty-fifth session, call 2: each GEMM's slice count on its own. Main 6735fda with diag-slices.patch
# (FP4MOE_DIAG_SLICES=AB: GEMM 1 on A, GEMM 2 on B K slices wherever the rules gave a one-token tile), one CLI,
# the four combinations alternating, three rounds, W4A16, one and two tokens, custom shapes (experts, hidden,
# intermediate, top-k) whose one-token CTAs fit one wave of the four-slice tile per GEMM:
#   a 64 3072 3072 2: GEMM 1 192 CTAs / 12 K steps a slice on four slices, GEMM 2 96 / 12 (call 1: 22 beat 44 by 2%)
#   b 64 2048 2048 2: 128 / 8, 64 / 8 (call 1: 44 beat 22 by 10%)
#   c 64 2048 3072 2: 192 / 8 (qwen3's GEMM 1), 64 / 12
#   d 64 2048 1024 4: 128 / 8, 128 / 4
#   e 64 3072 2048 2: 128 / 12, 96 / 8
source bench/device.sh && dev_init slices-per-gemm
git apply bench/results/h200-four-slice-line/diag-slices.patch || echo "patch failed"
dev_cli
for spec in "a 64 3072 3072 2" "b 64 2048 2048 2" "c 64 2048 3072 2" "d 64 2048 1024 4" "e 64 3072 2048 2"; do
  read -r tag e h i k <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens 1,2 --skewed off \
--kernels off --mem-gib 8" s22=FP4MOE_DIAG_SLICES=22 s24=FP4MOE_DIAG_SLICES=24 s42=FP4MOE_DIAG_SLICES=42 \
    s44=FP4MOE_DIAG_SLICES=44
done
git apply -R bench/results/h200-four-slice-line/diag-slices.patch
el end
