#!/usr/bin/env bash
# Prepared in the fifty-ninth session (no machine was lent; the patch builds for sm_90a on the CPU machine), two
# calls of about 8 and 6 minutes (call1.sh, call2.sh). diag-k-split.patch: FP4MOE_DIAG_KSPLIT=2 (or 4) splits GEMM
# 2's K in that many slices wherever it runs the one-tile wgmma kernel (not the persistent one): gridDim.z CTAs per
# (row block, tile), each streaming its share of the K steps; slices 1.. write their partial sums (no bias) to y's
# of their own, and the combine adds them to y's in slice order before the top-k weights (deterministic). The
# question: do the few-expert models whose GEMM 2 grid is under a wave and whose K is long (mixtral 1.63-1.75x the
# floor at 32-128 tokens, llama4-scout's GEMM 2 at 1.65x its bytes) gain from more CTAs, each shorter, and where
# does it lose.
# 1. Correctness first: the layer GPU tests with every wgmma GEMM 2 split in 2 and in 4 (they compare against the CPU
#    reference).
# 2. The table against the split, three alternating rounds, uniform routing, per-kernel times.
source bench/device.sh && dev_init ksplit-call1
dev_variant_patch ks bench/results/h200-gemm2-k-split/diag-k-split.patch
(cd /tmp/tree-ks && BT=/tmp/bt-ks dev_tests_build 16 fp4moe_cli fp4moe_gpu_layer_tests)
FP4MOE_DIAG_KSPLIT=2 BT=/tmp/bt-ks dev_gtest layer 240
mv "$R/test-layer.log" "$R/test-layer-ks2.log"
FP4MOE_DIAG_KSPLIT=4 BT=/tmp/bt-ks dev_gtest layer 240
mv "$R/test-layer.log" "$R/test-layer-ks4.log"
grep -E '^\[  (PASSED|FAILED)' "$R"/test-layer-ks*.log
CLI=/tmp/bt-ks/src/cli/fp4moe
M="--skewed off --kernels list --mem-gib 8 --target-ms 60"
dev_env_ab mixtral 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 32,64,96,128 $M" \
  table= ks2=FP4MOE_DIAG_KSPLIT=2 ks4=FP4MOE_DIAG_KSPLIT=4 > "$R/ab-mixtral.out" 2>&1
dev_env_ab scout 3 "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 32,64,128 $M" \
  table= ks2=FP4MOE_DIAG_KSPLIT=2 ks4=FP4MOE_DIAG_KSPLIT=4 > "$R/ab-scout.out" 2>&1
el end
