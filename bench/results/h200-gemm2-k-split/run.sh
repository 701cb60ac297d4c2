#!/usr/bin/env bash
# Prepared in the fifty-ninth session (no machine was lent; the patch builds for sm_90a on the CPU machine), one call
# of about 8 minutes. diag-k-split.patch: FP4MOE_DIAG_KSPLIT=1 splits GEMM 2's K in two wherever it runs the
# one-tile wgmma kernel (not the persistent one): gridDim.z = 2 CTAs per (row block, tile), each streaming half
# the K steps; slice 1 writes its partial sums (no bias) to a second y, and the combine adds the two before the
# top-k weights (fixed order: deterministic). The question: do the few-expert models whose GEMM 2 grid is under a
# wave and whose K is long (mixtral 1.63-1.75x the floor at 32-128 tokens, llama4-scout's GEMM 2 at 1.65x its
# bytes) gain from twice the CTAs, each half as long, and where does it lose.
# 1. Correctness first: the layer GPU tests with every wgmma GEMM 2 split (they compare against the CPU reference).
# 2. The table against the split, three alternating rounds, uniform routing, per-kernel times.
source bench/device.sh && dev_init ksplit
dev_variant_patch ks bench/results/h200-gemm2-k-split/diag-k-split.patch
(cd /tmp/tree-ks && BT=/tmp/bt-ks dev_tests_build 16 fp4moe_cli fp4moe_gpu_layer_tests)
FP4MOE_DIAG_KSPLIT=1 BT=/tmp/bt-ks dev_gtest layer 200
grep -E '^\[  (PASSED|FAILED)' "$R/test-layer.log"
CLI=/tmp/bt-ks/src/cli/fp4moe
M="--skewed off --kernels list --mem-gib 8 --target-ms 60"
dev_env_ab mixtral 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 32,64,96,128 $M" \
  table= ks=FP4MOE_DIAG_KSPLIT=1 > "$R/ab-mixtral.out" 2>&1
dev_env_ab scout 3 "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 32,64,128 $M" \
  table= ks=FP4MOE_DIAG_KSPLIT=1 > "$R/ab-scout.out" 2>&1
dev_env_ab grok 3 "--experts 8 --hidden 6144 --intermediate 32768 --top-k 2 --tokens 32,64,96 $M" \
  table= ks=FP4MOE_DIAG_KSPLIT=1 > "$R/ab-grok.out" 2>&1
dev_env_ab dbrx 3 "--experts 16 --hidden 6144 --intermediate 10752 --top-k 4 --tokens 32,64,128 $M" \
  table= ks=FP4MOE_DIAG_KSPLIT=1 > "$R/ab-dbrx.out" 2>&1
# The benchmark shapes where GEMM 2 is a one-tile wgmma kernel (64 tokens; 512 runs the persistent GEMM 2, unsplit).
dev_env_ab bench 2 "--shapes all --tokens 32,64 --skewed on --kernels off --mem-gib 8" \
  table= ks=FP4MOE_DIAG_KSPLIT=1 > "$R/ab-bench.out" 2>&1
el end
