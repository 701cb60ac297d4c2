#!/usr/bin/env bash
# Thirty-fifth session, call 2. W4A4 whose GEMM 1 does not quantize h (dynamic scales; calibrated at
# the mma.sync batches): h quantized tile by tile by 32 CTAs beside GEMM 2 (launch_fake_quantize_tiles),
# GEMM 2 waiting per tile, against the kernel before GEMM 2 (--quantize-beside off), one build, two
# alternating rounds; the CTA count 16 and 64 on qwen3 (FP4MOE_QUANTIZE_BESIDE_CTAS, an experiment's
# override); GPU tests; the official dynamic W4A4 prefill command with the peer.
source bench/device.sh && dev_init qb
dev_module qb . 8 & dev_tests_build 8; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200; dev_pytest /tmp/mod-qb
C="--modes w4a4 --tokens 8,64,512,4096,16384 --no-peer --skewed off"
CC="--modes w4a4 --w4a4-scales calibrated --tokens 8,64 --no-peer --skewed off"
for r in 1 2; do
  dev_bench off-$r /tmp/mod-qb $C --quantize-beside off; dev_bench on-$r /tmp/mod-qb $C
  dev_bench coff-$r /tmp/mod-qb $CC --quantize-beside off; dev_bench con-$r /tmp/mod-qb $CC
done
dev_compare ab.txt off-1,off-2 on-1,on-2
dev_compare ab-cal.txt coff-1,coff-2 con-1,con-2
dev_compare ab-fq.txt off-1,off-2 on-1,on-2 --kernel fake_quantize
dev_compare ab-gemm2.txt off-1,off-2 on-1,on-2 --kernel "[Dd]own"
Q="--shapes qwen3-30b-a3b,deepseek-v3 --modes w4a4 --tokens 4096,16384 --no-peer --skewed off"
for q in 16 64; do FP4MOE_QUANTIZE_BESIDE_CTAS=$q dev_bench q$q /tmp/mod-qb $Q; done
dev_compare ab-q16.txt on-1,on-2 q16; dev_compare ab-q64.txt on-1,on-2 q64
dev_bench official-w4a4-prefill /tmp/mod-qb --modes w4a4 --tokens 4096,16384 --skewed off
grep -h "qwen3-30b-a3b" $R/official-*prefill/*.md | cut -c1-250
dev_results
