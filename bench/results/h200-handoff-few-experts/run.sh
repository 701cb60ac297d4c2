#!/usr/bin/env bash
# Fifty-eighth session, call 5: the tile hand-off on the wgmma tiles of few-expert models. In ../h200-empty-large/
# mixtral 8/4096/14336/2 at 128 tokens ran 15.6% slower without the (empty) large launch, which turns the hand-off
# back on there. One CLI (carried, main eb23029), four sides, three alternating rounds, W4A16, both routings from 64
# tokens: the table; FP4MOE_TILE_HANDOFF=0; FP4MOE_LARGE_TILES=0; both off.
source bench/device.sh && dev_init handoff
CLI=build/src/cli/fp4moe
A="--kernels off --mem-gib 8 --target-ms 60"
for spec in "mixtral 8 4096 14336 2 32,64,96,128,192" "dbrx 16 6144 10752 4 32,64,96,128,192"; do
  read -r tag e h i k t <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t $A" \
    table= h0=FP4MOE_TILE_HANDOFF=0 l0=FP4MOE_LARGE_TILES=0 l0h0=FP4MOE_LARGE_TILES=0,FP4MOE_TILE_HANDOFF=0 \
    > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
el end
