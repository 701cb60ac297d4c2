#!/usr/bin/env bash
# Sixty-sixth session, H100 (109 s; README.md). Branch wip/gemm2-quantizes-h: W4A4's decode forward with a dynamic h
# scale drops h's quantization kernel: GEMM 2 fake-quantizes its rows from GEMM 1's FP32 h as they land in shared memory
# (MmaMainloop::run_fake_quantized; the resident rows, or each stage where a tile's rows do not fit them), so that it
# follows GEMM 1 directly and streams its first weights while GEMM 1 ends, as with a calibrated scale. The 32 decode
# kernels of main keep their instructions (their one new parameter at the end: 28 bytes more of constant bank 0); the 4
# new ones (GEMM 2 of the two- and four-slice tiles, with and without biases) 64 registers, no local memory, a 248-byte
# stack frame for the staged stores' call. One build: the dispatch tests, the new layer test and the decode ones, the
# new one under memcheck; then dynamic W4A4 at one and two tokens on every shape with FP4MOE_GEMM2_QUANTIZES_H=0 (h's
# kernel) against the default, three alternating rounds.
source bench/device.sh && dev_init gemm2-quantizes-h
BT=/tmp/bt dev_tests_build 16 fp4moe_cli fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests
dev_gtest dispatch 60
dev_gtest layer 150 'GpuLayer.GemmTwoQuantizationEqualsTheKernel:GpuLayer.EdgeCases:GpuLayer.NaNInputShowsAsNaN:GpuLayer.BenchmarkShapesSmallBatches:GpuLayer.EveryCompiledTileShape:GpuGraph.*'
timeout 100 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.GemmTwoQuantizationEqualsTheKernel' > "$R/sanitizer-memcheck-layer.log" 2>&1
el "memcheck rc=$?: $(grep 'ERROR SUMMARY' "$R/sanitizer-memcheck-layer.log")"
CLI=/tmp/bt/src/cli/fp4moe
dev_env_ab dyn 3 "--shapes all --tokens 1,2 --skewed off --mode w4a4 --kernels off --mem-gib 16" \
  kernel=FP4MOE_GEMM2_QUANTIZES_H=0 new=
dev_print_ab
dev_results
