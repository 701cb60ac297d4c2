#!/usr/bin/env bash
# Thirty-sixth session, call 5: the mirror of ../h200-fma-pipe/: the decoding's plain left shifts (ptxas's
# IMAD.SHL, on the FMA pipe beside the 32 HMUL2 a stage) as funnel shifts with a zero low word (SHF.L, the
# integer ALU pipe); the same instruction count in every kernel. main (the patch reversed) against the
# patch, two builds, two alternating rounds, W4A16, 1-1024 tokens both routings and 4096 uniform; the GPU
# kernel and layer tests of the patch.
source bench/device.sh && dev_init call5
dev_variant_patch main bench/results/h200-alu-shifts/alu-shifts.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 6 & dev_tests_build 5 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests; wait
el builds
A="--shapes all --modes w4a16 --no-peer"
for r in 1 2; do
  dev_bench m-$r /tmp/mod-main $A --tokens 1,8,64,512,1024 --skewed on
  dev_bench n-$r /tmp/mod-new $A --tokens 1,8,64,512,1024 --skewed on
  dev_bench mp-$r /tmp/mod-main $A --tokens 4096 --skewed off
  dev_bench np-$r /tmp/mod-new $A --tokens 4096 --skewed off
done
dev_compare ab.txt m-1,m-2 n-1,n-2
dev_compare ab-prefill.txt mp-1,mp-2 np-1,np-2
dev_gtest kernel 120; dev_gtest layer 200
dev_results
