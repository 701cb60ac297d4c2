#!/usr/bin/env bash
# Forty-first session, call 7: the wgmma consumers' loop with 32-bit shared addresses for the stage's
# fragment bytes and barriers and a 32-bit descriptor low word under a constant high word
# (loop-addresses.patch): ptxas no longer rebuilds the shared window's base and a 64-bit descriptor
# every stage (the 128- and 64-token tiles 187 -> 176-177 SASS instructions a stage, the 48-token
# 174-176 -> 173-174, the 32-token 172 -> 172). Main (the patch reversed) against the patch, one
# build each, alternating, two rounds: prefill both modes on qwen3 and deepseek-v3, and W4A16 at 512
# tokens on the issue-bound shapes; then the GPU tests of the patch.
source bench/device.sh && dev_init loop-addresses
dev_variant_patch main bench/results/h200-loop-addresses/loop-addresses.patch -R
dev_module main /tmp/tree-main 8 & dev_module new . 8 & wait; el builds
P="--shapes qwen3-30b-a3b,deepseek-v3 --modes w4a16,w4a4 --tokens 4096,16384 --skewed off --no-peer"
D="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --modes w4a16 --tokens 512 --skewed off --no-peer"
for r in 1 2; do
  dev_bench mp-$r /tmp/mod-main $P; dev_bench np-$r /tmp/mod-new $P
  dev_bench md-$r /tmp/mod-main $D; dev_bench nd-$r /tmp/mod-new $D
done
dev_compare ab-prefill.txt mp-1,mp-2 np-1,np-2
dev_compare ab-prefill-gemm1.txt mp-1,mp-2 np-1,np-2 --kernel GateUp
dev_compare ab-512.txt md-1,md-2 nd-1,nd-2
dev_gpu_test 330
dev_results
