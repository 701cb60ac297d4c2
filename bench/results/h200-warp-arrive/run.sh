#!/usr/bin/env bash
# Thirty-eighth session, call 4: GEMM 1's gathered stages with one full-barrier arrival per producer
# warp instead of one per producer thread (257 arrivals a stage in the 128-token tile, 9 with this):
# each producer thread commits its stage's cp.async group, waits for the group kStages - 2 stages
# back, and after a __syncwarp lane 0 arrives for the warp; the consumers' proxy fence stays
# (warp-arrive.patch). Main 60b3e07 against it, both with --sorted-rows off so that every shape
# gathers; the patch's kernel and layer tests first.
source bench/device.sh && dev_init warp-arrive
dev_variant_patch wa bench/results/h200-warp-arrive/warp-arrive.patch
dev_module main . 5 & dev_module wa /tmp/tree-wa 5 & (cd /tmp/tree-wa && dev_tests_build 6 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests); wait
el builds
FP4MOE_SORTED_ROWS=0 dev_gtest layer 120
dev_gtest kernel 60
A="--shapes qwen3-30b-a3b,deepseek-v4-flash --tokens 512,4096,16384 --skewed off --modes w4a16,w4a4 --no-peer --sorted-rows off"
for r in 1 2; do
  dev_bench main-$r /tmp/mod-main $A
  dev_bench wa-$r /tmp/mod-wa $A
done
dev_compare ab.txt main-1,main-2 wa-1,wa-2
dev_compare ab-gemm1.txt main-1,main-2 wa-1,wa-2 --kernel GateUp
dev_results
