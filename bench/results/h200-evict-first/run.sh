#!/usr/bin/env bash
# Session 31, call 4: the wgmma kernels' weight copies with an L2 evict-first policy (this tree;
# evict-first.patch) against main (the patch reversed), two alternating rounds: W4A16 at 64 and 512
# tokens, every shape, both routings; prefill at 4096 and 16384 tokens on qwen3 and
# deepseek-v4-flash (weights re-read by many token tiles there). Then the kernel and layer GPU tests.
source bench/device.sh && dev_init evict
D=bench/results/h200-evict-first
dev_variant_patch old $D/evict-first.patch -R
dev_module old /tmp/tree-old 6 & dev_module new . 6 & dev_tests_build 4 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests
wait; el builds
one() {  # tag module round
  dev_bench $1-$3-d $2 --modes w4a16 --tokens 64,512 --no-peer --skewed on
  dev_bench $1-$3-p $2 --modes w4a16 --tokens 4096,16384 --no-peer --skewed off --shapes qwen3-30b-a3b,deepseek-v4-flash
}
for r in 1 2; do one m /tmp/mod-old $r; one e /tmp/mod-new $r; done
for s in d p; do dev_compare ab-$s.txt m-1-$s,m-2-$s e-1-$s,e-2-$s; done
dev_gtest kernel 60; dev_gtest layer 150
dev_results
