#!/usr/bin/env bash
# Sixty-first session, call 3 (H100): the combine with its slots' loads grouped eight at a time (combine.cuh's
# kCombineSlotsInFlight) against main af69962, whose per-slot loop (55f8f00's K slices) kept one 16-byte load of y
# in flight a thread. Both CLIs built here side by side, the layer GPU tests of the change (CombineOfManySlots new),
# then two alternating rounds: every benchmark shape at 1, 8, 512, 16384 tokens (W4A16, per-kernel times), qwen3
# in dynamic W4A4 at 512 and 16384, and mixtral at 64 tokens, where GEMM 2 runs in K slices and the combine adds them.
# The module of this tree is built beside them for call 4's official tables (the machine kept warm).
source bench/device.sh && dev_init combine-loads
rm -rf /tmp/tree-base && mkdir -p /tmp/tree-base && git archive af69962 | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 5 fp4moe_cli) &
dev_module head . 5 &
BT=/tmp/bt dev_tests_build 6 fp4moe_cli fp4moe_gpu_layer_tests
wait
BT=/tmp/bt dev_gtest layer 200
grep -E '^\[  (PASSED|FAILED)|FAILED  \]' "$R"/test-layer.log
export CLI_BASE=/tmp/bt-base/src/cli/fp4moe CLI_NEW=/tmp/bt/src/cli/fp4moe
dev_cli_ab 2 "--shapes all --tokens 1,8,512,16384 --skewed off --kernels on --mem-gib 16" all
dev_cli_ab 2 "--shapes qwen3-30b-a3b --mode w4a4 --tokens 512,16384 --skewed off --kernels on --mem-gib 16" w4a4
dev_cli_ab 2 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 64 --skewed off --mem-gib 8" mixtral
for f in "$R"/ab-*.txt; do echo "== ${f##*/}"; grep -E '^\| [a-z]' "$f"; done
el end
