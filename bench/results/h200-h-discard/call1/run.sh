#!/usr/bin/env bash
# Sixty-eighth session, first call. Branch wip/h-discard (4ca549f) against main 076d9c1: where y stays in L2
# (moe/dispatch.h's y_stays_in_l2), dynamic W4A4's h quantization kernel drops GEMM 1's FP32 h from L2 as it reads
# it (12.6 MB at qwen3 512), and the combine takes its ballot only where it discards. Both CLIs and the branch's
# layer GPU tests were built on the CPU machine and carried (build-ab/clis.tar.xz, stripped; with the kernel tests
# too the call was over its size limit, so they build here beside the layer tests). The layer tests, the changed
# layer test under memcheck and racecheck, the quantize tests, the A/B, then the branch's Python module and the
# three official decode tables as far as the call has room.
source bench/device.sh && dev_init h-discard-1
BT=/tmp/bt dev_tests_build 8 fp4moe_gpu_kernel_tests &
dev_carried_gtest layer 200
for tool in memcheck racecheck; do
  dev_carried_gtest layer 120 'GpuLayer.YInL2EqualsTheRuleOff' $tool
done
wait
dev_gtest kernel 100 'GpuQuantize.*'
timeout 60 compute-sanitizer --tool memcheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests \
  --gtest_filter='GpuQuantize.FakeQuantizeDiscarding*' > "$R/sanitizer-memcheck-kernel.log" 2>&1
el "memcheck kernel rc=$?: $(grep 'ERROR SUMMARY' "$R/sanitizer-memcheck-kernel.log")"
B=CLI=build-ab/fp4moe-base
N=CLI=build-ab/fp4moe-new
dev_env_ab y 3 "--shapes qwen3-30b-a3b --tokens 384,512 --mode w4a4 --kernels off --mem-gib 16" base=$B new=$N
dev_env_ab q 2 "--shapes qwen3-30b-a3b --tokens 256,512 --kernels off --mem-gib 16" base=$B new=$N
dev_env_ab g 2 "--shapes gpt-oss-120b,deepseek-v4-flash --tokens 64,512 --mode w4a4 --kernels off --mem-gib 16" \
  base=$B new=$N
dev_print_ab
dev_results
dev_module new . 16
dev_official /tmp/mod-new "w4a16 w4a4 w4a4cal" decode
el done
