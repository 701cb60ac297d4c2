#!/usr/bin/env bash
# Fifty-seventh session, call 1 (a diagnostic, nothing to land): each GEMM's K-split slice count set apart
# (../diag-slices.patch: FP4MOE_DIAG_SLICES=AB puts GEMM 1 on A and GEMM 2 on B slices wherever the rules gave that
# GEMM a K-split tile) on every shape where the K-split tile now runs, at the batches it reaches, three alternating
# rounds of one CLI, W4A16 uniform. Sides 22 / 24 / 42 / 44 (GEMM 1 slices, GEMM 2 slices). The question: where do
# four slices win past the one wave `for_grid` asks for (mixtral T=4 -6.7%, 64/4096/768/4 T=2 -12.5% in session 56)?
# Then session 56's single-round leads (other tiles forced) in three rounds.
source bench/device.sh && dev_init slices
dev_variant_patch diag bench/results/h200-slice-audit/diag-slices.patch
(cd /tmp/tree-diag && BT=/tmp/bt-diag dev_tests_build 16 fp4moe_cli)
CLI=/tmp/bt-diag/src/cli/fp4moe
A="--skewed off --kernels off --mem-gib 24 --target-ms 60"
S=(s22=FP4MOE_DIAG_SLICES=22 s24=FP4MOE_DIAG_SLICES=24 s42=FP4MOE_DIAG_SLICES=42 s44=FP4MOE_DIAG_SLICES=44)
dev_env_ab bench 3 "--shapes all --tokens 1,2,3,4 $A" "${S[@]}" > "$R/ab-bench.out" 2>&1
for spec in "mixtral 8 4096 14336 2 1,2,4,8,16" "scout 16 5120 8192 1 1,3,8,16" "g20 32 2880 2880 4 1,2,3,4,6" \
            "v2l 64 2048 1408 6 1,2,3,4" "kimi 384 7168 2048 8 1,2" "q235 128 4096 1536 8 1,2" \
            "glm 128 4096 1408 8 1,2" "s768 64 4096 768 4 1,2,4" "s3072 64 3072 3072 2 1,2,4"; do
  read -r tag e h i k t <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t $A" "${S[@]}" \
    > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
# Session 56's single-round leads beside the slices, three rounds: the table against the tile that won there.
dev_env_ab scout 3 "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 32,64,128 $A" table= \
  r64=FP4MOE_GEMM=mma8-r64-w4-s8-d4 r128=FP4MOE_GEMM=mma8-r128-w4-s8-d4 > "$R/ab-lead-scout.out" 2>&1
dev_env_ab mix512 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 512 $A" table= \
  w128=FP4MOE_GEMM=wgmma128-r256-w8-s8 > "$R/ab-lead-mix512.out" 2>&1
dev_env_ab kimi512 3 "--experts 384 --hidden 7168 --intermediate 2048 --top-k 8 --tokens 512 $A" table= \
  w32=FP4MOE_GEMM=wgmma32-r256-w8-s8-c2 > "$R/ab-lead-kimi512.out" 2>&1
dev_env_ab g20t64 3 "--experts 32 --hidden 2880 --intermediate 2880 --top-k 4 --tokens 64 $A" table= \
  m16=FP4MOE_GEMM=mma16-r128-w4-s4-d4 > "$R/ab-lead-g20t64.out" 2>&1
el end
