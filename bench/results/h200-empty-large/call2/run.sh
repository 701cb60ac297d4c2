#!/usr/bin/env bash
# Fifty-eighth session, call 3 (this folder's call2): the batches a "half the batch" line would take the large tiles
# from. A large tile fills only where one expert holds a whole block of rows, that is, where at least block-size
# tokens chose it; call1 found the 32-token tile's launch costing 0.3-6.4% where that needs more than half the batch
# (32-48 tokens). Here the 128-token tile's range where that holds, 128-255 tokens above the wgmma table tiles
# (mixtral, dbrx, llama4-scout, gpt-oss-20b), and more 32-63-token rows, FP4MOE_LARGE_TILES=1 against 0, one CLI
# (carried, main 266eb87), three alternating rounds, W4A16, both routings from 64 tokens.
source bench/device.sh && dev_init large2
CLI=build/src/cli/fp4moe
A="--kernels off --mem-gib 8 --target-ms 60"
dev_env_ab bench 3 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 40,56 $A" \
  on=FP4MOE_LARGE_TILES=1 off=FP4MOE_LARGE_TILES=0 > "$R/ab-bench.out" 2>&1
for spec in "mixtral 8 4096 14336 2 128,160,192" "dbrx 16 6144 10752 4 128,192" "scout 16 5120 8192 1 128,192" \
            "g20 32 2880 2880 4 56,128,192,248"; do
  read -r tag e h i k t <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t $A" \
    on=FP4MOE_LARGE_TILES=1 off=FP4MOE_LARGE_TILES=0 > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
el end
