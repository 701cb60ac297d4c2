#!/usr/bin/env bash
# Thirty-fifth session, call 1. The fake-quantization kernels with a block's 16 values over 2 (BF16) or
# 4 (FP32) lanes, one 16-byte vector each, four vectors a thread (lanes.patch), against main 8e283f7:
# W4A4 dynamic and calibrated, 64-16384 tokens, all shapes, two alternating rounds, --no-peer; the GPU
# tests on the patched tree (its GEMM kernels are main's); then the official W4A4 prefill commands on it.
source bench/device.sh && dev_init ql
D=bench/results/h200-quantize-lanes
dev_variant_patch main $D/lanes.patch -R
dev_module main /tmp/tree-main 5 & dev_module lanes . 5 & dev_tests_build 6; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200; dev_pytest /tmp/mod-lanes
C="--modes w4a4 --tokens 64,512,4096,16384 --no-peer --skewed off"
for r in 1 2; do
  dev_bench md-$r /tmp/mod-main $C; dev_bench ld-$r /tmp/mod-lanes $C
  dev_bench mc-$r /tmp/mod-main $C --w4a4-scales calibrated; dev_bench lc-$r /tmp/mod-lanes $C --w4a4-scales calibrated
done
dev_compare ab-dynamic.txt md-1,md-2 ld-1,ld-2
dev_compare ab-calibrated.txt mc-1,mc-2 lc-1,lc-2
dev_compare ab-dynamic-fq.txt md-1,md-2 ld-1,ld-2 --kernel fake_quantize
dev_compare ab-calibrated-fq.txt mc-1,mc-2 lc-1,lc-2 --kernel fake_quantize
dev_bench official-w4a4cal-prefill /tmp/mod-lanes --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
dev_bench official-w4a4-prefill /tmp/mod-lanes --modes w4a4 --tokens 4096,16384 --skewed off
grep -h "qwen3-30b-a3b" $R/official-*prefill/*.md | cut -c1-250
dev_results
