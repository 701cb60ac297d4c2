#!/usr/bin/env bash
# GEMM 1's weight rows reordered so that a warp's two m-tiles hold adjacent columns of h (even and
# odd), and the wgmma tiles' GateUp epilogue stores a token's two values in one 4-byte (BF16) or
# 8-byte (FP32) store: whole 32-byte sectors per warp instead of 2-byte stores into half sectors.
# Why: the GEMM 1 epilogue diagnostic (../h200-gemm1-epilogue/): without h's stores GEMM 1 lost its
# activation's cost too; its stores bind its epilogue. The working tree (h-pairs.patch against main)
# against main, built side by side; GPU tests (dispatch, kernel, layer, Python) of the new tree;
# 512, 4096, 16384 tokens both modes, calibrated W4A4 prefill, and W4A16 at 1, 8, 64 tokens, two rounds.
source bench/device.sh && dev_init hp
D=bench/results/h200-h-pairs
dev_variant_patch main $D/h-pairs.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200; dev_pytest /tmp/mod-new
C="--modes w4a16,w4a4 --tokens 512,4096,16384 --no-peer --skewed off"
K="--modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --no-peer --skewed off"
S="--modes w4a16 --tokens 1,8,64 --no-peer --skewed off"
for r in 1 2; do
  dev_bench m-$r /tmp/mod-main $C; dev_bench n-$r /tmp/mod-new $C
  dev_bench mc-$r /tmp/mod-main $K; dev_bench nc-$r /tmp/mod-new $K
  dev_bench ms-$r /tmp/mod-main $S; dev_bench ns-$r /tmp/mod-new $S
done
dev_compare ab.txt m-1,m-2 n-1,n-2
dev_compare ab-cal.txt mc-1,mc-2 nc-1,nc-2
dev_compare ab-small.txt ms-1,ms-2 ns-1,ns-2
dev_results
