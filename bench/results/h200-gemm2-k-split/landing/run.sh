#!/usr/bin/env bash
# The rule as landed (moe/dispatch.h's gemm2_splits_k): GEMM 2's K in two slices where its one-tile wgmma kernel
# has at most a wave of expected CTAs and K >= 8192. One call: the dispatch, layer and graph GPU tests; then the
# table against FP4MOE_GEMM2_K_SPLIT=0 (the rule off), one build, alternating rounds, on the few-expert models
# (where it applies and where it does not) and the benchmark shapes (where it never applies: the combine's new
# argument is all that changes there).
source bench/device.sh && dev_init landing
BT=/tmp/bt-land dev_tests_build 16 fp4moe_cli fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests
BT=/tmp/bt-land dev_gtest dispatch 60
BT=/tmp/bt-land dev_gtest layer 240
grep -E '^\[  (PASSED|FAILED)' "$R"/test-*.log
CLI=/tmp/bt-land/src/cli/fp4moe
M="--skewed off --kernels off --mem-gib 8 --target-ms 60"
dev_env_ab mixtral 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 16,32,64,96,128,192 $M" \
  table= off=FP4MOE_GEMM2_K_SPLIT=0 > "$R/ab-mixtral.out" 2>&1
dev_env_ab grok 3 "--experts 8 --hidden 6144 --intermediate 32768 --top-k 2 --tokens 32,64,96,128 $M" \
  table= off=FP4MOE_GEMM2_K_SPLIT=0 > "$R/ab-grok.out" 2>&1
dev_env_ab bench 2 "--shapes all --tokens 64,512 --skewed off --kernels off --mem-gib 8" \
  table= off=FP4MOE_GEMM2_K_SPLIT=0 > "$R/ab-bench.out" 2>&1
$CLI kernels --experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 16,32,64,96,128,192,256 \
  --device current > "$R/kernels-mixtral.txt" 2>&1
el end
