#!/usr/bin/env bash
# A diagnostic (not for main): what GEMM 1's W4A16 epilogue costs the one-tile wgmma kernels. Three
# builds that compute wrong outputs on purpose: g1-nostore (the activation computed, h not stored),
# g1-noact (h = gate * up scaled, no activation function: no MUFU), g1-both. qwen3 and deepseek-v3,
# W4A16, 4096 and 16384 tokens, two alternating rounds, per-kernel times from the profiles.
# GEMM 2 reads whatever h holds in the nostore builds: its time is the control for the power
# coupling between the two GEMMs (bench/results/h200-drain-combine/).
source bench/device.sh && dev_init g1e
D=bench/results/h200-gemm1-epilogue
for v in nostore noact both; do dev_variant_patch $v $D/g1-$v.patch; done
dev_module main . 4 & for v in nostore noact both; do dev_module $v /tmp/tree-$v 4 & done; wait; el builds
C="--shapes qwen3-30b-a3b,deepseek-v3 --modes w4a16 --tokens 4096,16384 --no-peer --skewed off"
for r in 1 2; do for v in main nostore noact both; do dev_bench $v-$r /tmp/mod-$v $C; done; done
for v in nostore noact both; do dev_compare ab-$v.txt main-1,main-2 $v-1,$v-2; done
dev_results
