#!/usr/bin/env bash
# Session 32, call 1: the one-tile wgmma kernels overlap each m-tile's wgmmas with the dequantization of
# the other m-tile's next fragments (consume_k_overlapped; the persistent GEMM 2 keeps the serial loop),
# plus the FP4MOE_TILE_HANDOFF switch (overlap.patch, against main 1d2eeb1). GPU tests of the new tree,
# then main against it, W4A16, two alternating rounds: 512 tokens on the three shapes whose GEMMs run the
# 32-token tile at 512 (qwen3 runs the 48-token one, unchanged), then prefill on qwen3 and deepseek-v3.
source bench/device.sh && dev_init call1
D=bench/results/h200-overlap-mtiles
dev_variant_patch main $D/overlap.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200
C="--modes w4a16 --tokens 512 --no-peer --shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3"
for r in 1 2; do dev_bench m512-$r /tmp/mod-main $C; dev_bench n512-$r /tmp/mod-new $C; done
dev_compare ab-512.txt m512-1,m512-2 n512-1,n512-2
P="--modes w4a16 --tokens 4096,16384 --no-peer --skewed off --shapes qwen3-30b-a3b,deepseek-v3"
for r in 1 2; do dev_bench mp-$r /tmp/mod-main $P; dev_bench np-$r /tmp/mod-new $P; done
dev_compare ab-prefill.txt mp-1,mp-2 np-1,np-2
dev_results
