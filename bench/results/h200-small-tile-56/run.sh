#!/usr/bin/env bash
# Forty-fourth session, call 3: the small-batch tile (mma8-r64-w4-s8-d4, 0.13-5 rows per expert) held to
# 56 registers in the grouped GEMM kernels, nine CTAs per SM instead of eight (small56.patch, the tree
# of this call against main 4680f3e): one build each, alternating, two rounds, --no-peer; then the
# GPU tests of the patch (the occupancy test checks the nine).
source bench/device.sh && dev_init small56
dev_variant_patch main bench/results/h200-small-tile-56/small56.patch -R
dev_module main /tmp/tree-main 8 & dev_module new . 8 & wait; el builds
dev_ab 2 d "--modes w4a16 --tokens 8,16,32,64,128 --no-peer" q "--modes w4a4 --tokens 8,64 --no-peer"
dev_ab_kernel d gemm1 GateUp
dev_ab_kernel d gemm2 Down
dev_gpu_test 330
dev_results
