#!/usr/bin/env bash
# Sixty-seventh session, H100, second call. The rule as it would land (moe/dispatch.h's y_stays_in_l2, one switch
# FP4MOE_Y_IN_L2): evict-first weight copies and the combine's discard of y together, only where y and h fit in
# 80% of L2 and y is at least 5% of the touched weights' bytes (qwen3 at 384-512 tokens of the benchmark shapes);
# elsewhere main's copy instruction (call 1's explicit evict-normal policy measured +0.8..+1.5%). Both CLIs built
# here: main 4f0756b (base) and the branch, default (new) and with the rule off (off). The dispatch and layer GPU
# tests, the new layer test and the graph tests under memcheck; then the A/B; with GPU_TEST=1 then
# tools/gpu-test.sh.
source bench/device.sh && dev_init y-in-l2-2
rm -rf /tmp/tree-base && mkdir -p /tmp/tree-base && git archive 4f0756b | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 6 fp4moe_cli) &
BT=/tmp/bt dev_tests_build 10 fp4moe_cli fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests
wait
dev_gtest dispatch 60
dev_gtest layer 200
timeout 150 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.YInL2EqualsTheRuleOff:GpuGraph.*' > "$R/sanitizer-memcheck-layer.log" 2>&1
el "memcheck rc=$?: $(grep 'ERROR SUMMARY' "$R/sanitizer-memcheck-layer.log")"
CLI=/tmp/bt/src/cli/fp4moe
B=CLI=/tmp/bt-base/src/cli/fp4moe
dev_env_ab q 3 "--shapes qwen3-30b-a3b --tokens 256,384,512,640 --kernels off --mem-gib 16" \
  base=$B off=FP4MOE_Y_IN_L2=0 new=
dev_env_ab c 3 "--shapes qwen3-30b-a3b --tokens 384,512 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" \
  base=$B new=
dev_env_ab y 3 "--shapes qwen3-30b-a3b --tokens 384,512 --mode w4a4 --kernels off --mem-gib 16" base=$B new=
dev_env_ab g 2 "--shapes gpt-oss-120b,deepseek-v4-flash --tokens 64,512 --kernels off --mem-gib 16" base=$B new=
dev_print_ab
# The GPU test command (CTest's gpu label, memcheck and racecheck) where the call has room for it.
[ "${GPU_TEST:-0}" = 1 ] && dev_gpu_test 330
dev_results
