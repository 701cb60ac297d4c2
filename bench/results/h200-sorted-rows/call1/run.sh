#!/usr/bin/env bash
# Thirty-seventh session, call 1: GEMM 1's wgmma tiles reading x's rows copied in the plan's sorted
# order (routing/sorted_rows.h) against gathering them, one build, --sorted-rows off against on, two
# alternating rounds, W4A16 at 512 tokens (both routings) and at 4096 and 16384 (uniform); the new
# tests first, the whole GPU test binaries last.
source bench/device.sh && dev_init call1
dev_module new . 10 & dev_tests_build 6; wait
el builds
dev_gtest dispatch 30
dev_gtest kernel 150
BT=/tmp/bt; timeout 200 $BT/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*SortedRows*' > "$R/test-layer-sorted.log" 2>&1
el "sorted rows layer test rc=$?"
D="--shapes all --tokens 512 --modes w4a16 --no-peer"
P="--shapes all --tokens 4096,16384 --skewed off --modes w4a16 --no-peer"
for r in 1 2; do
  dev_bench d-off-$r /tmp/mod-new $D --sorted-rows off
  dev_bench d-on-$r /tmp/mod-new $D --sorted-rows on
  dev_bench p-off-$r /tmp/mod-new $P --sorted-rows off
  dev_bench p-on-$r /tmp/mod-new $P --sorted-rows on
done
dev_compare ab-d.txt d-off-1,d-off-2 d-on-1,d-on-2
dev_compare ab-d-gemm1.txt d-off-1,d-off-2 d-on-1,d-on-2 --kernel GateUp
dev_compare ab-p.txt p-off-1,p-off-2 p-on-1,p-on-2
dev_compare ab-p-gemm1.txt p-off-1,p-off-2 p-on-1,p-on-2 --kernel GateUp
dev_gtest layer 200
dev_results
