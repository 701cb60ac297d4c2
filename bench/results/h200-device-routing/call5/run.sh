#!/usr/bin/env bash
# Forty-sixth session, call 5: the router launched as the forward's kernels are, with programmatic
# dependent launch on Hopper (wait for the predecessor, then let the successor launch; pdl.patch), so
# that the layer's first kernel becomes resident while the routing runs: main 4890f16 against the
# patch, bench_route.py with the decode-step comparison (--chain), alternating, two rounds; then the
# patch's router tests, the graph test that routes and runs the forward in one capture, and racecheck.
source bench/device.sh && dev_init device-routing-5
dev_variant_patch main bench/results/h200-device-routing/call5/pdl.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests; wait
for r in 1 2; do
  for side in main new; do
    PYTHONPATH=/tmp/mod-$side timeout 150 python3 bench/bench_route.py --tokens 1,64 --chain 1,8,64 > $R/route-$side-$r.md 2>&1
    el "$side $r rc=$?"
  done
done
dev_gtest kernel 100 'GpuRoute.*'
dev_gtest layer 120 'GpuGraph.*'
compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuGraph.RoutingOnTheDeviceFeedsTheForward' > $R/sanitizer-racecheck.log 2>&1
el "racecheck rc=$?"
for f in $R/route-*.md; do echo "$f"; grep '^| [qgds]' "$f" | cut -d'|' -f2-6; done
dev_results
