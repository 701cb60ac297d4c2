#!/usr/bin/env bash
# Fifty-eighth session, call 2 (this folder's call1): what the large tiles cost where their launch is (nearly) empty. Session 57's
# llama4-scout T=64 gain with both GEMMs forced to mma8-r128 (-10.5%) came back as a tie when only the wave rule's
# tie moved (../h200-wave-tie/), and a forced tile also turns the large tiles off; at 32-96 tokens the 32-token
# large tiles run on gpt-oss, the deepseek shapes, llama4-scout and gpt-oss-20b, where a uniform batch leaves their
# launch empty but still costs the tile hand-off. One CLI (carried, main 266eb87), FP4MOE_LARGE_TILES=1 against 0,
# three alternating rounds, W4A16, both routings from 64 tokens.
source bench/device.sh && dev_init large
CLI=build/src/cli/fp4moe
A="--kernels off --mem-gib 8 --target-ms 60"
dev_env_ab bench 3 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 32,64,96 $A" \
  on=FP4MOE_LARGE_TILES=1 off=FP4MOE_LARGE_TILES=0 > "$R/ab-bench.out" 2>&1
for spec in "scout 16 5120 8192 1 32,48,64,96" "g20 32 2880 2880 4 32,48"; do
  read -r tag e h i k t <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t $A" \
    on=FP4MOE_LARGE_TILES=1 off=FP4MOE_LARGE_TILES=0 > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
for side in 1 0; do
  FP4MOE_LARGE_TILES=$side timeout 120 $CLI bench --experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 64 \
    --kernels list --mem-gib 8 --target-ms 60 > "$R/scout-kernels-large$side.txt" 2>&1
done
el end
