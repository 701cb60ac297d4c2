#!/usr/bin/env bash
# Forty-sixth session, call 4: the router's lane scans unrolled (WarpTopK's rescan by 4, the groups' scan
# by 8, so that the shared-memory loads go ahead of the comparisons; unroll.patch) against main 24027cc:
# bench_route.py with each module in turn, two rounds; then the kernel tests of the patch.
source bench/device.sh && dev_init device-routing-4
dev_variant_patch main bench/results/h200-device-routing/call4/unroll.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6 fp4moe_gpu_kernel_tests; wait
for r in 1 2; do
  for side in main new; do
    PYTHONPATH=/tmp/mod-$side timeout 100 python3 bench/bench_route.py --tokens 1,64,512,16384 > $R/route-$side-$r.md 2>&1
    el "$side $r rc=$?"
  done
done
dev_gtest kernel 200 'GpuRoute.*'
compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoute.*' > $R/sanitizer-racecheck.log 2>&1
el "racecheck rc=$?"
paste -d' ' <(cut -d'|' -f2-4 $R/route-main-1.md) <(cut -d'|' -f4 $R/route-main-2.md) <(cut -d'|' -f4 $R/route-new-1.md) <(cut -d'|' -f4 $R/route-new-2.md) | tail -12
dev_results
