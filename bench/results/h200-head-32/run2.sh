#!/usr/bin/env bash
# Session 32, call 6: compute-sanitizer on main 23eadbe (kernels of 5a0ab49): racecheck and memcheck of
# the layer tests that run every compiled tile and the edge cases.
source bench/device.sh && dev_init call6
dev_tests_build 14
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-racecheck.log
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape:GpuLayer.EdgeCases' > $R/san-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "SUMMARY" $R/san-memcheck.log
dev_results
