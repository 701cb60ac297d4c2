#!/usr/bin/env bash
# Thirty-seventh session, call 2: the copy made token by token (each token's row of x loaded once and
# stored to its pairs' sorted rows, the loads before the wait for the plan in W4A16), one build,
# --sorted-rows off against on, two alternating rounds, W4A16: 512 tokens (both routings), 1024, 2048
# and 4096 (uniform), to find where the copy pays.
source bench/device.sh && dev_init call2
dev_module new . 10 & dev_tests_build 6 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests; wait
el builds
dev_gtest kernel 150
BT=/tmp/bt; timeout 200 $BT/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*SortedRows*' > "$R/test-layer-sorted.log" 2>&1
el "sorted rows layer test rc=$?"
D="--shapes all --tokens 512 --modes w4a16 --no-peer"
M="--shapes all --tokens 1024,2048,4096 --skewed off --modes w4a16 --no-peer"
for r in 1 2; do
  dev_bench d-off-$r /tmp/mod-new $D --sorted-rows off
  dev_bench d-on-$r /tmp/mod-new $D --sorted-rows on
  dev_bench m-off-$r /tmp/mod-new $M --sorted-rows off
  dev_bench m-on-$r /tmp/mod-new $M --sorted-rows on
done
dev_compare ab-d.txt d-off-1,d-off-2 d-on-1,d-on-2
dev_compare ab-m.txt m-off-1,m-off-2 m-on-1,m-on-2
dev_compare ab-d-gemm1.txt d-off-1,d-off-2 d-on-1,d-on-2 --kernel GateUp > /dev/null
dev_compare ab-m-gemm1.txt m-off-1,m-off-2 m-on-1,m-on-2 --kernel GateUp > /dev/null
dev_results
