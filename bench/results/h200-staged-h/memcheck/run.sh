#!/usr/bin/env bash
# Thirty-fourth session, call 5: compute-sanitizer memcheck of the layer test's EveryCompiledTileShape
# on main (GEMM 1's h through the ring: its 16-byte stores of whole token rows, partial tiles of every
# token width, sizes off the tile grid), the last device seconds of the session.
source bench/device.sh && dev_init mc
dev_tests_build 16 fp4moe_gpu_layer_tests
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape' > $R/san-memcheck.log 2>&1; el "memcheck rc=$?"
grep -hE "ERROR SUMMARY|PASSED|FAILED" $R/san-memcheck.log; grep -c "rel_error" $R/san-memcheck.log; tail -3 $R/san-memcheck.log
# Then, on the same warm machine (one command, by hand): memcheck of BenchmarkShapesWgmmaKernels
# (each benchmark shape's K over many ring turns, both modes) into san-memcheck-wgmma.log.
#   compute-sanitizer --tool memcheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
#     --gtest_filter='GpuLayer.BenchmarkShapesWgmmaKernels'
