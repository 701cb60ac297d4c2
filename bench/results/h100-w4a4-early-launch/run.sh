#!/usr/bin/env bash
# Sixty-third session, H100: two waits in W4A4's kernel chain moved later, against main 3779d2f (the kernels of
# ba0182a). (b) h's quantization lets GEMM 2 launch before its own wait (as x's does for GEMM 1), so that the decode
# GEMM 2 streams its first weights while GEMM 1 ends, as it does in W4A16. (c) GEMM 1 finds its own tiles in W4A4
# too, streaming its first weights before it waits for x's quantization. Both CLIs and the new GPU tests built on
# the CPU machine for sm_90a and carried (build-ab/clis.tar.xz). The tests first, then both W4A4 modes on every
# shape at 1-8 tokens (where the two changes act) and at 64 and 512 (the grouped chain), two alternating rounds;
# then (c) alone by its switch.
source bench/device.sh && dev_init w4a4-early
dev_carried_gtest layer 200
args="--shapes all --tokens 1,2,3,4,8,64,512 --skewed off --mode w4a4 --kernels off --mem-gib 16"
dev_cli_ab 2 "$args" dyn
dev_cli_ab 2 "$args --scales calibrated" cal
CLI=build-ab/fp4moe-new dev_env_ab own 2 \
  "--shapes qwen3-30b-a3b,deepseek-v4-flash,deepseek-v3 --tokens 2,3,4,8 --skewed off --mode w4a4 --kernels off --mem-gib 16" \
  on= off=FP4MOE_OWN_TILES=0
dev_print_ab
dev_carried_gtest kernel 100
dev_carried_gtest layer 120 'GpuLayer.OwnTilesAreThePlansTiles:GpuGraph.*' memcheck
el end
