#!/usr/bin/env bash
# Thirty-eighth session, call 2: call 1 found GEMM 1's gain on sorted rows is the tensor copies, not
# the fence. Can GEMM 1 have it without the copy? rowtma (row-tensor-copies.patch, with call 1's
# threshold): each producer thread brings its tile row of every stage from x by a tensor copy of one
# 128-byte row (a map of box 64 K x 1 row, the 128-byte swizzle applied by the row's shared address),
# no cp.async, no fence. Against call 1's base build: off = cp.async gathers, on = sorted rows.
# Correctness first: the layer tests that compare GEMM 1's paths, the kernel tests, the Python tests.
source bench/device.sh && dev_init call2
dev_variant_patch base bench/results/h200-proxy-fence/call1/threshold.patch
dev_variant_patch rowtma bench/results/h200-proxy-fence/call2/row-tensor-copies.patch
dev_module base /tmp/tree-base 5 & dev_module rowtma /tmp/tree-rowtma 5 & (cd /tmp/tree-rowtma && dev_tests_build 6 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests); wait
el builds
dev_pytest /tmp/mod-rowtma
FP4MOE_SORTED_ROWS=0 dev_gtest layer 150 '-*SortedRows*'
mv $R/test-layer.log $R/test-layer-gathers.log
dev_gtest layer 60 '*SortedRows*'
A="--shapes qwen3-30b-a3b,deepseek-v4-flash --tokens 4096,16384 --skewed off --modes w4a16,w4a4 --no-peer"
for r in 1 2; do
  dev_bench base-off-$r /tmp/mod-base $A --sorted-rows off
  dev_bench base-on-$r /tmp/mod-base $A --sorted-rows on
  dev_bench rowtma-off-$r /tmp/mod-rowtma $A --sorted-rows off
done
for v in base-on rowtma-off; do
  dev_compare ab-$v.txt base-off-1,base-off-2 $v-1,$v-2
  dev_compare ab-$v-gemm1.txt base-off-1,base-off-2 $v-1,$v-2 --kernel GateUp
done
dev_gtest kernel 150
dev_results
