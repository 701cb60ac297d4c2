#!/usr/bin/env bash
# Forty-fifth session, call 4: the graph tests with their workspaces poisoned too (testing::poisoned_workspace,
# which run_forward now shares), and the layer tests that go through run_forward, once more.
source bench/device.sh && dev_init shared-workspace-4
dev_tests_build 16 fp4moe_gpu_layer_tests
dev_gtest layer 400
grep -E "OK \]|FAILED|PASSED|tests from" $R/test-layer.log | tail -40
dev_results
