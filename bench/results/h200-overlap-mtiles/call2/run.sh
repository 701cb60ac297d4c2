#!/usr/bin/env bash
# Session 32, call 2: the overlapped consumer loop only in the one-CTA-per-SM tiles (64 and 128 tokens,
# not persistent; overlap2.patch against main 1d2eeb1). GPU tests of the new tree, then main against it,
# prefill, both modes (W4A4 with the dynamic scale), all four shapes, two alternating rounds, no peer.
source bench/device.sh && dev_init call2
D=bench/results/h200-overlap-mtiles
dev_variant_patch main $D/overlap2.patch -R
dev_module main /tmp/tree-main 5 & dev_module new . 5 & dev_tests_build 6; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200
P="--modes w4a16,w4a4 --tokens 4096,16384 --no-peer --skewed off"
for r in 1 2; do dev_bench mp-$r /tmp/mod-main $P; dev_bench np-$r /tmp/mod-new $P; done
dev_compare ab-prefill.txt mp-1,mp-2 np-1,np-2
dev_results
