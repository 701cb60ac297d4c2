#!/usr/bin/env bash
# Prepared in the fifty-seventh session for a later one (not run yet): the wave rule's tie. `for_waves` keeps the
# 64-row small-batch tile where the 128-row one takes as many whole waves; llama4-scout 16/5120/8192/1 at 64 tokens
# ran 10.5% faster with both GEMMs on 128-row blocks (../h200-slice-audit/call1, the third measurement). Ties also
# decide benchmark rows (qwen3 T=8 GEMM 2, T=64 both GEMMs; deepseek-v4-flash T=4, 8, 12; gpt-oss T=8-13), so one
# CLI with diag-wave-tie.patch (FP4MOE_DIAG_WAVE_TIE=1: a tie goes to the 128-row tile) measures both sides on
# those rows and on the public models' tie rows, three alternating rounds, both routings.
source bench/device.sh && dev_init tie
dev_variant_patch diag bench/results/h200-wave-tie/diag-wave-tie.patch
(cd /tmp/tree-diag && BT=/tmp/bt-diag dev_tests_build 16 fp4moe_cli)
CLI=/tmp/bt-diag/src/cli/fp4moe
A="--kernels off --mem-gib 8 --target-ms 60"
dev_env_ab bench 3 "--shapes all --tokens 4,8,12,64 $A" table= tie=FP4MOE_DIAG_WAVE_TIE=1 > "$R/ab-bench.out" 2>&1
for spec in "scout 16 5120 8192 1 48,64,72" "q235 128 4096 1536 8 4,6,10" "glm 128 4096 1408 8 3,6,11" \
            "v2l 64 2048 1408 6 30,41,51" "kimi 384 7168 2048 8 2,3,6"; do
  read -r tag e h i k t <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t --skewed off $A" \
    table= tie=FP4MOE_DIAG_WAVE_TIE=1 > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
el end
