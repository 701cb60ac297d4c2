#!/usr/bin/env bash
# Fifty-eighth session, call 6: why mixtral's 128-token uniform batch runs 14.5% slower without the (empty) large
# launch (run.sh). Without it GEMM 2 (128 CTAs of the 48-token two-CTA tile, K = 14336) launches while GEMM 1's last
# CTAs run and may pack two CTAs onto each SM that frees first; after the empty launch it starts on an idle GPU.
# diag-spread.patch (FP4MOE_DIAG_SPREAD=1: GEMM 2's wgmma CTAs take the whole shared memory, one per SM) tests
# that. Sides: the table (carried CLI, main eb23029), FP4MOE_LARGE_TILES=0 + FP4MOE_TILE_HANDOFF=0, and the patched
# CLI with the spread and both rules off; per-kernel times (--kernels list), two alternating rounds, uniform.
source bench/device.sh && dev_init diag
dev_variant_patch spread bench/results/h200-handoff-few-experts/diag-spread.patch
(cd /tmp/tree-spread && BT=/tmp/bt-spread dev_tests_build 16 fp4moe_cli)
CLI=build/src/cli/fp4moe
A="--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 64,96,128,144 --skewed off --mem-gib 8 --target-ms 60"
dev_env_ab mixtral 2 "$A --kernels list" table= l0h0=FP4MOE_LARGE_TILES=0,FP4MOE_TILE_HANDOFF=0 \
  spread=CLI=/tmp/bt-spread/src/cli/fp4moe,FP4MOE_DIAG_SPREAD=1,FP4MOE_LARGE_TILES=0,FP4MOE_TILE_HANDOFF=0 \
  > "$R/ab-mixtral.out" 2>&1
el end
