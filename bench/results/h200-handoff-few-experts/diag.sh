#!/usr/bin/env bash
# Prepared in the fifty-eighth session (no machine was lent to run it), one call of about 3 minutes:
# 1. Why mixtral 8/4096/14336/2's 128-token uniform batch runs 14.5% slower without the (empty) large launch
#    (run.sh). Without it GEMM 2 (128 CTAs of the 48-token two-CTA tile, K = 14336) launches while GEMM 1's last
#    CTAs run and may pack two CTAs onto each SM that frees first; after the empty launch it starts on an idle GPU.
#    diag-spread.patch: FP4MOE_DIAG_SPREAD=1 gives GEMM 2's wgmma CTAs the whole shared memory (one per SM);
#    FP4MOE_DIAG_LATE_GEMM2=1 lets GEMM 2 launch only when GEMM 1's grid has ended.
# 2. Whether GEMM 2 is what keeps mixtral and grok-1 8/6144/32768/2 at 1.6-1.75x the floor at 32-96 tokens (each
#    GEMM 2 CTA streams a whole K of 14336 or 32768): diag-gemm2.patch's FP4MOE_DIAG_GEMM2=<tile> runs GEMM 2 alone on
#    another tile of the same token block, here the 32-token mma.sync one of 128 rows (twice the CTAs); and both
#    GEMMs on that tile (FP4MOE_GEMM).
# Both patches apply to main 794a67a (different files); one CLI with both; per-kernel times (--kernels list), two
# alternating rounds, uniform.
source bench/device.sh && dev_init diag
dev_variant_patch diag bench/results/h200-handoff-few-experts/diag-spread.patch
(cd /tmp/tree-diag && git apply "$OLDPWD/bench/results/h200-handoff-few-experts/diag-gemm2.patch" &&
  BT=/tmp/bt-diag dev_tests_build 16 fp4moe_cli)
CLI=/tmp/bt-diag/src/cli/fp4moe
OFF=FP4MOE_LARGE_TILES=0,FP4MOE_TILE_HANDOFF=0
M="--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --skewed off --mem-gib 8 --target-ms 60 --kernels list"
dev_env_ab mixtral 2 "$M --tokens 64,96,112,128,144" table= off=$OFF spread=$OFF,FP4MOE_DIAG_SPREAD=1 \
  late=$OFF,FP4MOE_DIAG_LATE_GEMM2=1 > "$R/ab-mixtral.out" 2>&1
G=FP4MOE_DIAG_GEMM2=mma32-r128-w4-s4-d2
B=FP4MOE_GEMM=mma32-r128-w4-s4-d2
dev_env_ab mixtral-g2 2 "$M --tokens 32,64,96" table= g2=$G both=$B > "$R/ab-mixtral-g2.out" 2>&1
dev_env_ab grok-g2 2 "${M/--experts 8 --hidden 4096 --intermediate 14336/--experts 8 --hidden 6144 --intermediate 32768} \
  --tokens 32,64,96" table= g2=$G both=$B > "$R/ab-grok-g2.out" 2>&1
# 3. fp4moe kernels (main 206c828) on the GPU: the current device's choices against the modeled Hopper's, which
#    must agree on a 132-SM Hopper (the model is its occupancy).
K="--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096"
$CLI kernels --device current $K > "$R/kernels-current.txt" 2>&1
$CLI kernels $K > "$R/kernels-model.txt" 2>&1
diff <(tail -n +2 "$R/kernels-current.txt") <(tail -n +2 "$R/kernels-model.txt") > "$R/kernels-diff.txt" &&
  el "kernels: the device's choices equal the model's" || el "kernels: choices differ (kernels-diff.txt)"
el end
