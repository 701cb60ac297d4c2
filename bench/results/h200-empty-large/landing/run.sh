#!/usr/bin/env bash
# Fifty-eighth session, call 4 (this folder's landing): the large tiles above the mma.sync tiles from 64 tokens
# (`moe/dispatch.h`'s kLargeTileAboveMmaMinTokens). The layer GPU tests of the new tree (binary carried), then the
# new CLI (carried) against main 266eb87's (built here: this tree less change.patch), three alternating rounds, at
# 32-56 tokens where the line changes the kernels (both modes) and at 64 where it does not, both routings there.
source bench/device.sh && dev_init landing
dev_variant_patch base bench/results/h200-empty-large/landing/change.patch -R
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 8 fp4moe_cli) &
BT=/tmp/bt-new dev_tests_build 8 fp4moe_gpu_layer_tests
wait
BT=/tmp/bt-new dev_gtest layer 300
A="--kernels off --mem-gib 8 --target-ms 60"
B="base=CLI=/tmp/bt-base/src/cli/fp4moe new=CLI=build/src/cli/fp4moe"
dev_env_ab w4a16 3 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 32,48,56,64 $A" $B > "$R/ab-w4a16.out" 2>&1
dev_env_ab w4a4 3 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 32,48 --mode w4a4 $A" $B \
  > "$R/ab-w4a4.out" 2>&1
for spec in "scout 16 5120 8192 1 32,48,56" "g20 32 2880 2880 4 32,48,56"; do
  read -r tag e h i k t <<< "$spec"
  dev_env_ab "$tag" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t $A" $B > "$R/ab-$tag.out" 2>&1
  el "$tag done"
done
el end
