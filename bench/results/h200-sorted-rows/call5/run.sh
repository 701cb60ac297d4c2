#!/usr/bin/env bash
# Thirty-seventh session, call 5: SortedRowsEqualTheGather without call 4's wrong expectation (its
# config has no large tiles; LargeTilesOfSkewedBatches covers them with sorted rows), and the whole
# layer test binary once more.
source bench/device.sh && dev_init call5
dev_tests_build 14 fp4moe_gpu_layer_tests
dev_gtest layer 240
dev_results
