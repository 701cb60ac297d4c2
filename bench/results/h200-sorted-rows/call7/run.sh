#!/usr/bin/env bash
# Thirty-seventh session, call 7: the kernel tests after the routing plan tests' config helper (a
# refactor of the test code made after gpu-test/).
source bench/device.sh && dev_init call7
dev_tests_build 15 fp4moe_gpu_kernel_tests
dev_gtest kernel 150
dev_results
