#!/usr/bin/env bash
# The second call of call1.sh's measurement (read its header): grok-1, dbrx and the benchmark shapes.
source bench/device.sh && dev_init ksplit-call2
dev_variant_patch ks bench/results/h200-gemm2-k-split/diag-k-split.patch
(cd /tmp/tree-ks && BT=/tmp/bt-ks dev_tests_build 16 fp4moe_cli)
CLI=/tmp/bt-ks/src/cli/fp4moe
M="--skewed off --kernels list --mem-gib 8 --target-ms 60"
dev_env_ab grok 3 "--experts 8 --hidden 6144 --intermediate 32768 --top-k 2 --tokens 32,64,96 $M" \
  table= ks2=FP4MOE_DIAG_KSPLIT=2 > "$R/ab-grok.out" 2>&1
dev_env_ab dbrx 3 "--experts 16 --hidden 6144 --intermediate 10752 --top-k 4 --tokens 32,64,128 $M" \
  table= ks2=FP4MOE_DIAG_KSPLIT=2 > "$R/ab-dbrx.out" 2>&1
# The benchmark shapes where GEMM 2 is a one-tile wgmma kernel (64 tokens; 512 runs the persistent GEMM 2, unsplit).
dev_env_ab bench 2 "--shapes all --tokens 32,64 --skewed on --kernels off --mem-gib 8" \
  table= ks2=FP4MOE_DIAG_KSPLIT=2 > "$R/ab-bench.out" 2>&1
el end
