#!/usr/bin/env bash
# Sixty-sixth session (ran on an H200; README.md). Branch wip/x-own-amax: dynamic W4A4's grouped forward quantizes x by
# CTAs that each take the amax of all of x themselves, during the routing plan (before their wait), where x has at most
# kOwnAmaxMaxElements elements (qwen3 to 32 tokens, gpt-oss 22, deepseek-v4-flash 16, deepseek-v3 9), instead of an amax
# kernel and then the quantization: one kernel link fewer. The decode forward's quantization (the same kernel, waiting
# first) now has four loads a thread in flight for the amax. Run from the branch's checkout: BASE=<the main commit it
# sits on> bash run.sh. Both CLIs are built here; the branch's dispatch, quantization and layer GPU tests,
# XOwnAmaxEqualsTheAmaxKernel under memcheck and the quantization test under racecheck; then dynamic W4A4 at 1-32 tokens
# on every shape, uniform, three alternating rounds of main, the branch with FP4MOE_X_OWN_AMAX=0 (the decode
# quantization's loads alone) and the branch.
: "${BASE:?BASE=<the main commit the branch sits on>}"
source bench/device.sh && dev_init x-own-amax
rm -rf /tmp/tree-base && mkdir -p /tmp/tree-base && git archive "$BASE" | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 6 fp4moe_cli) &
BT=/tmp/bt dev_tests_build 10 fp4moe_cli fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests fp4moe_gpu_kernel_tests
wait
dev_gtest dispatch 60
dev_gtest kernel 120 'GpuQuantize.*'
dev_gtest layer 200
timeout 150 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.XOwnAmaxEqualsTheAmaxKernel' > "$R/sanitizer-memcheck-layer.log" 2>&1
el "memcheck rc=$?: $(grep 'ERROR SUMMARY' "$R/sanitizer-memcheck-layer.log")"
timeout 60 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests \
  --gtest_filter='GpuQuantize.OwnAmax*' > "$R/sanitizer-racecheck-kernel.log" 2>&1
el "racecheck rc=$?: $(grep 'RACECHECK SUMMARY' "$R/sanitizer-racecheck-kernel.log")"
CLI=/tmp/bt/src/cli/fp4moe
a="--shapes all --tokens 1,2,3,4,8,16,32 --skewed off --mode w4a4 --kernels off --mem-gib 16"
dev_env_ab dyn 3 "$a" base=CLI=/tmp/bt-base/src/cli/fp4moe off=FP4MOE_X_OWN_AMAX=0 new=
dev_print_ab
dev_results
