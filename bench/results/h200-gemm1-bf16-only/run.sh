#!/usr/bin/env bash
# Thirty-fourth session, call 3. (1) main 9b52613 (GEMM 1's BF16 h through the ring) with the layer
# test's dynamic W4A4 case on every tile: GPU tests, then the official prefill commands (W4A16, W4A4
# calibrated, W4A4 dynamic) and the W4A16 decode command, the peer in the run (head/). (2) A diagnostic:
# GEMM 1's wgmma kernels with the BF16 store alone in their epilogue (bf16-only-diag.patch; FP32 h
# and the quantizing epilogue compiled out, so W4A16 only), against main, W4A16, 512-16384 tokens,
# two alternating rounds: does the code of the paths a launch does not take cost the one it takes?
# (staged-h-f32: changing the FP32 path made W4A16's GEMM 1 2.8-4.3% slower.)
source bench/device.sh && dev_init bo
D=bench/results/h200-gemm1-bf16-only
dev_variant_patch diag $D/bf16-only-diag.patch
dev_module main . 5 & dev_module diag /tmp/tree-diag 5 & dev_tests_build 6; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200; dev_pytest /tmp/mod-main
C="--modes w4a16 --tokens 512,4096,16384 --no-peer --skewed off"
for r in 1 2; do dev_bench m-$r /tmp/mod-main $C; dev_bench d-$r /tmp/mod-diag $C; done
dev_compare ab.txt m-1,m-2 d-1,d-2
dev_compare ab-gemm1.txt m-1,m-2 d-1,d-2 --kernel GateUp
dev_bench official-w4a16-prefill /tmp/mod-main --modes w4a16 --tokens 4096,16384 --skewed off
dev_bench official-w4a4cal-prefill /tmp/mod-main --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
dev_bench official-w4a4-prefill /tmp/mod-main --modes w4a4 --tokens 4096,16384 --skewed off
grep -h "qwen3-30b-a3b" $R/official-*prefill/*.md | cut -c1-250
dev_bench official-w4a16-decode /tmp/mod-main --modes w4a16 --tokens 1,8,64,512
grep -h "| 512 |" $R/official-w4a16-decode/*.md | cut -c1-200
dev_results
