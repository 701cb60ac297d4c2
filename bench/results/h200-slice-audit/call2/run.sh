#!/usr/bin/env bash
# Fifty-seventh session, call 2: the rule as it lands (moe/dispatch.h's for_grid: GEMM 2 on four K slices past one
# wave where each slice keeps kFourSliceLongSteps = 16 K steps, within kFourSliceLongMaxWaves = 2.5 waves) against
# main 36ee71f, both CLIs built here, three alternating rounds, W4A16 uniform. Shapes as experts/hidden/
# intermediate/top-k: call 1's rows (mixtral, llama4-scout) and three made to place the steps line (16, 24 and 32
# steps a slice: a4096, a6144, a8192), dbrx 16/6144/10752/4 and grok-1 8/6144/32768/2; the batches around each
# change are controls. Then tools/gpu-test.sh on this tree.
source bench/device.sh && dev_init land
mkdir -p /tmp/tree-base && git archive 36ee71f | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 8 fp4moe_cli) & BT=/tmp/bt-new dev_tests_build 8 fp4moe_cli; wait
A="--skewed off --kernels off --mem-gib 8 --target-ms 60"
for spec in "mixtral 8 4096 14336 2 1,4,8,16" "scout 16 5120 8192 1 3,8,16" "a4096 32 4096 4096 2 2,3,4,5,6" \
            "a6144 32 3072 6144 2 3,4,5,6" "a8192 16 4096 8192 2 3,4,5,6" "dbrx 16 6144 10752 4 1,2" \
            "grok 8 6144 32768 2 1,2,4"; do
  read -r tag e h i k t <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t $A" \
    base=CLI=/tmp/bt-base/src/cli/fp4moe new=CLI=/tmp/bt-new/src/cli/fp4moe > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
dev_gpu_test 300
el end
