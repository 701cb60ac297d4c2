#!/usr/bin/env bash
# Sixty-seventh session, H100. Branch wip/y-in-l2: y kept in L2 from GEMM 2 to the combine (moe/dispatch.h's
# y_stays_in_l2). Where y and h fit in 80% of L2, the wgmma kernels' weight copies take the evict-first policy
# (FP4MOE_EVICT_FIRST), and wherever the combine kernel runs it drops each line of y it has read from L2 without
# writing it back (FP4MOE_DISCARD_Y), so y's dirty lines cost no DRAM write. Both CLIs built here: main 4f0756b
# (base) and the branch, whose sides are both off (off: the policy form of the copies alone), discard only (disc),
# and the default (both). The layer GPU tests first, the chained-forward and edge tests under memcheck.
source bench/device.sh && dev_init y-in-l2
rm -rf /tmp/tree-base && mkdir -p /tmp/tree-base && git archive 4f0756b | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 6 fp4moe_cli) &
BT=/tmp/bt dev_tests_build 10 fp4moe_cli fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests
wait
dev_gtest dispatch 60
dev_gtest layer 200
timeout 120 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EdgeCases:GpuGraph.*' > "$R/sanitizer-memcheck-layer.log" 2>&1
el "memcheck rc=$?: $(grep 'ERROR SUMMARY' "$R/sanitizer-memcheck-layer.log")"
CLI=/tmp/bt/src/cli/fp4moe
B=CLI=/tmp/bt-base/src/cli/fp4moe
dev_env_ab d 3 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 64,512 --kernels off --mem-gib 16" \
  base=$B off=FP4MOE_EVICT_FIRST=0,FP4MOE_DISCARD_Y=0 disc=FP4MOE_EVICT_FIRST=0 both=
dev_env_ab w 2 "--shapes deepseek-v4-flash,deepseek-v3 --tokens 512 --kernels off --mem-gib 16" base=$B both=
dev_env_ab c 2 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 512 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" \
  base=$B both=
dev_env_ab p 2 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 4096 --skewed off --kernels off --mem-gib 16" base=$B both=
dev_print_ab
dev_results
