#!/usr/bin/env bash
# Forty-third session, call 4: the chained-forwards graph test with two wide cases (GEMM 1 with
# twelve 256-row blocks, so W4A16's sorted-row copy reads the first forward's output before its
# wait) and the test helpers moved to tests/cuda/chosen_kernels.h: the layer test binary only, the
# graph tests and the tests that use the moved helpers.
source bench/device.sh && dev_init chained-wide
dev_tests_build 16 fp4moe_gpu_layer_tests
dev_gtest layer 200 'GpuGraph.*:GpuLayer.SortedRows*:GpuLayer.OwnTiles*:GpuLayer.LargeTiles*:GpuLayer.EveryCompiledTileShape'
grep -E "chained replay|OK \]|FAILED|PASSED" $R/test-layer.log | head -40
dev_results
