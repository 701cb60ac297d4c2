#!/usr/bin/env bash
# Dynamic W4A4's FP32 h through the wgmma ring as well (staged_h.cuh: one 4-byte shared store per
# value, rows padded so that a warp's stores hit 32 banks, then 16-byte stores of whole token rows;
# the amax over h's values only). The working tree (staged-h-f32.patch against main 9b52613) against
# main, built side by side; GPU tests of the new tree (EveryCompiledTileShape now runs dynamic W4A4 on
# every tile), racecheck of that test; 512, 4096, 16384 tokens both modes, two alternating rounds,
# whole layer and GEMM 1 alone.
source bench/device.sh && dev_init f32
D=bench/results/h200-staged-h-f32
dev_variant_patch main $D/staged-h-f32.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200; dev_pytest /tmp/mod-new
timeout 150 compute-sanitizer --tool racecheck --error-exitcode 3 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests \
  --gtest_filter='GpuLayer.EveryCompiledTileShape' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; grep -h "SUMMARY" $R/san-racecheck.log
C="--modes w4a16,w4a4 --tokens 512,4096,16384 --no-peer --skewed off"
for r in 1 2; do dev_bench m-$r /tmp/mod-main $C; dev_bench n-$r /tmp/mod-new $C; done
dev_compare ab.txt m-1,m-2 n-1,n-2
dev_compare ab-gemm1.txt m-1,m-2 n-1,n-2 --kernel GateUp
dev_results
