#!/usr/bin/env bash
# Prepared in the fifty-eighth session (no machine was lent to run it): why mixtral 8/4096/14336/2's 128-token
# uniform batch runs 14.5% slower without the (empty) large launch (run.sh). Without it GEMM 2 (128 CTAs of the
# 48-token two-CTA tile, K = 14336) launches while GEMM 1's last CTAs run and may pack two CTAs onto each SM that
# frees first; after the empty launch it starts on an idle GPU. diag-spread.patch (applies to main e11c13f) has two
# switches: FP4MOE_DIAG_SPREAD=1 gives GEMM 2's wgmma CTAs the whole shared memory (one per SM);
# FP4MOE_DIAG_LATE_GEMM2=1 lets GEMM 2 launch only when GEMM 1's grid has ended. One CLI with the patch, four sides
# (the table; both large tiles and hand-off off; that with each switch), per-kernel times (--kernels list), two
# alternating rounds, uniform, at 64-144 tokens (the 32-token tile to 96, the 48-token one from 112).
source bench/device.sh && dev_init diag
dev_variant_patch spread bench/results/h200-handoff-few-experts/diag-spread.patch
(cd /tmp/tree-spread && BT=/tmp/bt-spread dev_tests_build 16 fp4moe_cli)
CLI=/tmp/bt-spread/src/cli/fp4moe
OFF=FP4MOE_LARGE_TILES=0,FP4MOE_TILE_HANDOFF=0
A="--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 64,96,112,128,144 --skewed off --mem-gib 8"
dev_env_ab mixtral 2 "$A --target-ms 60 --kernels list" table= off=$OFF spread=$OFF,FP4MOE_DIAG_SPREAD=1 \
  late=$OFF,FP4MOE_DIAG_LATE_GEMM2=1 > "$R/ab-mixtral.out" 2>&1
el end
