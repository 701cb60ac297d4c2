#!/usr/bin/env bash
# Thirty-fifth session, call 4. Does the quantizer beside GEMM 2 move more bytes per SM with coalesced
# loads? quantize-beside-lanes.patch (call 2's patch plus a form with a block's 16 values over 4 lanes,
# one float4 each, FP4MOE_QUANTIZE_TILES_LANES=1), one build: the rule off, on (call 2's form, 32 CTAs),
# and the lanes form with 16, 24 and 32 CTAs; qwen3 and deepseek-v3, dynamic W4A4, 4096 and 16384 tokens,
# --no-peer; then the layer tests with the lanes form.
source bench/device.sh && dev_init ql2
dev_module qb . 8 & dev_tests_build 8 fp4moe_gpu_layer_tests; wait; el builds
Q="--shapes qwen3-30b-a3b,deepseek-v3 --modes w4a4 --tokens 4096,16384 --no-peer --skewed off"
for r in 1 2; do
  dev_bench off-$r /tmp/mod-qb $Q --quantize-beside off
  dev_bench on32-$r /tmp/mod-qb $Q
  for q in 16 24 32; do FP4MOE_QUANTIZE_TILES_LANES=1 FP4MOE_QUANTIZE_BESIDE_CTAS=$q dev_bench l$q-$r /tmp/mod-qb $Q; done
done
for v in on32 l16 l24 l32; do dev_compare ab-$v.txt off-1,off-2 $v-1,$v-2; dev_compare ab-$v-fq.txt off-1,off-2 $v-1,$v-2 --kernel fake_quantize; done
FP4MOE_QUANTIZE_TILES_LANES=1 dev_gtest layer 200
dev_results
