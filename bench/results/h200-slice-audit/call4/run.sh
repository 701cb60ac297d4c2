#!/usr/bin/env bash
# Fifty-seventh session, calls 4-5 (commands given to the device directly, with the layer test binary built on the
# CPU machine for sm_90a and carried): the new GpuLayer.FourSliceGemmTwoPastOneWave beside the K-split test, then
# the new test under compute-sanitizer memcheck.
timeout 100 build/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.FourSliceGemmTwoPastOneWave:GpuLayer.KSplitTilesAtSeveralRowsPerExpert' \
  > "$OUT/test-layer.log" 2>&1
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 1 build/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.FourSliceGemmTwoPastOneWave' > "$OUT/memcheck.log" 2>&1
