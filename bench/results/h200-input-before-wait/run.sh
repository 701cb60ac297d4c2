#!/usr/bin/env bash
# Forty-third session, call 3: W4A4's quantization kernels read the caller's x before their wait for
# the kernel before them (input.patch): the amax waits only for its atomic (the plan zeroes amax_bits),
# x's fake quantization only where it needs the amax's result or before its end, and both let their
# successor launch at once; the plan's time then carries x's loads (and, with calibrated scales, all
# of x's quantization). Main (the patch reversed) against the patch, one build each, alternating, two
# rounds, --no-peer: 64 and 512 tokens (both routings) on three shapes and qwen3 prefill, both W4A4
# modes; then the GPU tests of the patch (with the new chained-forwards graph test).
source bench/device.sh && dev_init input-before-wait
dev_variant_patch main bench/results/h200-input-before-wait/input.patch -R
dev_module main /tmp/tree-main 8 & dev_module new . 8 & wait; el builds
D="--shapes qwen3-30b-a3b,gpt-oss-120b,deepseek-v4-flash --tokens 64,512 --no-peer"
P="--shapes qwen3-30b-a3b --tokens 4096,16384 --skewed off --no-peer"
for r in 1 2; do
  for side in m n; do
    mod=/tmp/mod-main; [ $side = n ] && mod=/tmp/mod-new
    dev_bench ${side}d-$r $mod $D --modes w4a4
    dev_bench ${side}c-$r $mod $D --modes w4a4 --w4a4-scales calibrated
    dev_bench ${side}p-$r $mod $P --modes w4a4
    dev_bench ${side}q-$r $mod $P --modes w4a4 --w4a4-scales calibrated
  done
done
dev_compare ab-dynamic.txt md-1,md-2 nd-1,nd-2
dev_compare ab-calibrated.txt mc-1,mc-2 nc-1,nc-2
dev_compare ab-prefill-dynamic.txt mp-1,mp-2 np-1,np-2
dev_compare ab-prefill-calibrated.txt mq-1,mq-2 nq-1,nq-2
dev_gpu_test 300
dev_results
