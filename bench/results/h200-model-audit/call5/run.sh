#!/usr/bin/env bash
# Fifty-sixth session, call 5 (run twice: after the first, the new test's three routings got a label each, the same
# routings in the same order; test-layer.log is the second run's): call 4's tools/gpu-test.sh failed one test,
# GpuLayer.OwnTilesAreThePlansTiles, whose small layer (hidden 272) the K-split tile now takes, so that GEMM 1 no
# longer finds its own tiles there (the test's guard). Its layer is now wide enough (hidden 3536) for the unsplit
# tile; that test and the new K-split one again, and the dispatch tests.
source bench/device.sh && dev_init own-tiles-width
BT=/tmp/bt dev_tests_build 16 fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests
BT=/tmp/bt dev_gtest layer 200 'GpuLayer.OwnTilesAreThePlansTiles:GpuLayer.KSplitTilesAtSeveralRowsPerExpert'
BT=/tmp/bt dev_gtest dispatch 60
dev_results
