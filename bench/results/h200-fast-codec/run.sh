#!/usr/bin/env bash
# Forty-second session, call 1: the codecs' device arithmetic (codec.patch): E4M3 conversions by the
# sm_89+ cvt instructions, e2m1_round by two additions instead of rintf, and the epilogues' sigmoid
# without __expf's subnormal fix-up. GEMM 1's 128-token kernel 28392 -> 25520 SASS instructions,
# fake_quantize_kernel<bf16> 600 -> 520; registers unchanged. Main (the patch reversed) against the
# patch, one build each, alternating, two rounds, --no-peer: prefill in the three modes on qwen3 and
# deepseek-v3, 512 tokens on qwen3 and deepseek-v4-flash; then the GPU tests of the patch (with the
# new exhaustive device codec test).
source bench/device.sh && dev_init fast-codec
dev_variant_patch main bench/results/h200-fast-codec/codec.patch -R
dev_module main /tmp/tree-main 8 & dev_module new . 8 & wait; el builds
P="--shapes qwen3-30b-a3b,deepseek-v3 --tokens 4096,16384 --skewed off --no-peer"
D="--shapes qwen3-30b-a3b,deepseek-v4-flash --modes w4a16,w4a4 --tokens 512 --skewed off --no-peer"
for r in 1 2; do
  for side in m n; do
    mod=/tmp/mod-main; [ $side = n ] && mod=/tmp/mod-new
    dev_bench ${side}p-$r $mod $P --modes w4a16,w4a4
    dev_bench ${side}c-$r $mod $P --modes w4a4 --w4a4-scales calibrated
    dev_bench ${side}d-$r $mod $D
  done
done
dev_compare ab-prefill.txt mp-1,mp-2 np-1,np-2
dev_compare ab-prefill-gemm1.txt mp-1,mp-2 np-1,np-2 --kernel GateUp
dev_compare ab-prefill-quantize.txt mp-1,mp-2 np-1,np-2 --kernel fake_quantize
dev_compare ab-calibrated.txt mc-1,mc-2 nc-1,nc-2
dev_compare ab-calibrated-gemm1.txt mc-1,mc-2 nc-1,nc-2 --kernel GateUp
dev_compare ab-512.txt md-1,md-2 nd-1,nd-2
dev_gpu_test 330
dev_results
