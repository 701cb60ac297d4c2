#!/usr/bin/env bash
# Forty-sixth session, call 2: the device router rebuilt around WarpTopK (order-preserving integer keys,
# each lane alone on its own entries, two warp reductions a pick), after call 1's racecheck warned of the
# first form's cross-lane "taken" marks and its bench_route.py measured 22 us for one DeepSeek-V3 token:
# the kernel tests (GpuRoute.* among them), the graph test that routes on the device, memcheck and
# racecheck of both, the Python GPU tests and bench_route.py.
source bench/device.sh && dev_init device-routing-2
dev_module head . 8 &
dev_tests_build 8 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests
dev_gtest kernel 200
dev_gtest layer 120 'GpuGraph.RoutingOnTheDeviceFeedsTheForward'
for tool in memcheck racecheck; do
  { compute-sanitizer --tool $tool --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoute.*' &&
    compute-sanitizer --tool $tool --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
      --gtest_filter='GpuGraph.RoutingOnTheDeviceFeedsTheForward'; } > $R/sanitizer-$tool.log 2>&1
  el "$tool rc=$? $(grep -c 'OK \]' $R/sanitizer-$tool.log) tests; $(grep -h 'SUMMARY' $R/sanitizer-$tool.log | tr '\n' ' ')"
done
wait
dev_pytest /tmp/mod-head
PYTHONPATH=/tmp/mod-head timeout 120 python3 bench/bench_route.py --tokens 1,8,64,512,4096,16384 > $R/bench-route.md 2>&1
el "bench_route rc=$?"
cat $R/bench-route.md
dev_results
