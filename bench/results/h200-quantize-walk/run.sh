#!/usr/bin/env bash
# Forty-third session, call 1: the W4A4 quantization passes walk their buffers in alternating
# directions (walk.patch: the amax down with four loads in flight a thread, the fake quantization of x
# up after it or down without it, h's down), so that each pass starts where the one before it ended
# and finds those lines in L2. Main (the patch reversed) against the patch, one build each,
# alternating, two rounds, --no-peer: dynamic and calibrated W4A4 prefill on qwen3 and deepseek-v3;
# then the GPU tests of the patch (which also carries the codec's shared NaN helpers and the device
# codec test's single count).
source bench/device.sh && dev_init quantize-walk
dev_variant_patch main bench/results/h200-quantize-walk/walk.patch -R
dev_module main /tmp/tree-main 8 & dev_module new . 8 & wait; el builds
P="--shapes qwen3-30b-a3b,deepseek-v3 --tokens 4096,16384 --skewed off --no-peer"
for r in 1 2; do
  for side in m n; do
    mod=/tmp/mod-main; [ $side = n ] && mod=/tmp/mod-new
    dev_bench ${side}p-$r $mod $P --modes w4a4
    dev_bench ${side}c-$r $mod $P --modes w4a4 --w4a4-scales calibrated
  done
done
dev_compare ab-dynamic.txt mp-1,mp-2 np-1,np-2
dev_compare ab-dynamic-amax.txt mp-1,mp-2 np-1,np-2 --kernel amax
dev_compare ab-dynamic-quantize-x.txt mp-1,mp-2 np-1,np-2 --kernel 'fake_quantize_kernel<fp4moe::bf16>'
dev_compare ab-dynamic-quantize-h.txt mp-1,mp-2 np-1,np-2 --kernel 'fake_quantize_kernel<float>'
dev_compare ab-calibrated.txt mc-1,mc-2 nc-1,nc-2
dev_compare ab-calibrated-quantize-x.txt mc-1,mc-2 nc-1,nc-2 --kernel fake_quantize
dev_gpu_test 300
dev_results
