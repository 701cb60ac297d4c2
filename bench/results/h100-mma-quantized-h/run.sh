#!/usr/bin/env bash
# Written in the sixty-fifth session (no device); run in the sixty-sixth on an H100 (168 s; README.md).
# Branch wip/mma-quantized-h: W4A4 with calibrated scales, GEMM 1's epilogue quantizes h in every mma.sync tile too, in
# kernels of their own (GateUpQuantizingEpilogue; the decode kernels' kQuantizesH form): where a warp holds two m-tiles
# as the wgmma tiles do, and where it holds one by an exchange of the halves' maxima between warp pairs. Every
# calibrated W4A4 batch then drops h's quantization kernel; the grouped ones without a K split or large tiles take the
# tile hand-off, and the decode kernels' GEMM 2 streams its first weights while GEMM 1 ends, as in W4A16. main's kernels
# are SASS-identical on the branch (tools/sass-identity.sh; the decode kernels under their new names, kQuantizesH false;
# instructions and resources); the new ones have their tile's other kernels' registers (64 on the one-m-tile tiles, 96
# on the 8-token two-m-tile tile, held there by kQuantizingMinCtasPerSm: 126 without, 128 on the 16- and 32-token tiles,
# 175 on the 64-token tile), no local memory.
# Run from the branch's checkout, rebased on the session's main: BASE=<that main commit> bash run.sh (the device's .git
# holds the commits of the session's start). Both CLIs are built there; the branch's dispatch and layer GPU tests,
# EpilogueQuantizationEqualsTheKernel under memcheck, then calibrated W4A4 at 1-256 tokens on every shape (64 and up in
# both routings), three alternating rounds.
: "${BASE:?BASE=<the main commit the branch sits on>}"
source bench/device.sh && dev_init mma-quantized-h
rm -rf /tmp/tree-base && mkdir -p /tmp/tree-base && git archive "$BASE" | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 6 fp4moe_cli) &
BT=/tmp/bt dev_tests_build 10 fp4moe_cli fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests
wait
dev_gtest dispatch 60
dev_gtest layer 200
timeout 120 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EpilogueQuantizationEqualsTheKernel' > "$R/sanitizer-memcheck-layer.log" 2>&1
el "memcheck rc=$?: $(grep 'ERROR SUMMARY' "$R/sanitizer-memcheck-layer.log")"
CLI=/tmp/bt/src/cli/fp4moe
a="--shapes all --tokens 1,2,4,8,16,32,64,128,256 --mode w4a4 --scales calibrated --kernels off --mem-gib 16"
dev_env_ab cal 3 "$a" base=CLI=/tmp/bt-base/src/cli/fp4moe new=
dev_print_ab
dev_results
