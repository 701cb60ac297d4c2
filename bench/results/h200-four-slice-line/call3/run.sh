#!/usr/bin/env bash
# Fifty-fifth session, call 3: the new one-token slice rule (moe/dispatch.h's for_grid: GEMM 2 on four slices where
# its CTAs fit one wave and each slice keeps 4 K steps, GEMM 1 on four only beside it) against main 6735fda's (four
# slices for each GEMM whose slices keep 10 steps). The GPU tests of this tree first (their build is the new CLI),
# main's CLI built beside them; then both CLIs alternating, three rounds: the custom shapes of calls 1-2 at one and
# two tokens (experts, hidden, intermediate, top-k), one of them in W4A4, and the benchmark shapes at one and two
# tokens in both modes as the control (the two rules pick the same tiles there).
source bench/device.sh && dev_init landing
mkdir -p /tmp/tree-old && git archive 6735fda | tar -x -C /tmp/tree-old
(cd /tmp/tree-old && BT=/tmp/bt-old dev_tests_build 6 fp4moe_cli) &
dev_gpu_test 330
wait
export CLI_BASE=/tmp/bt-old/src/cli/fp4moe CLI_NEW=/tmp/build-gpu/src/cli/fp4moe
for spec in "b 64 2048 2048 2 1,2" "d 64 2048 1024 4 1,2" "e 64 3072 2048 2 1,2" "c 64 2048 3072 2 1,2" \
  "a 64 3072 3072 2 1,2" "s2304 64 2304 2304 2 1"; do
  read -r tag e h i k t <<< "$spec"
  echo "== $tag"
  dev_cli_ab 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $t --skewed off --kernels off \
--mem-gib 8" "$tag"
done
echo "== d w4a4"
dev_cli_ab 3 "--experts 64 --hidden 2048 --intermediate 1024 --top-k 4 --tokens 1,2 --skewed off --kernels off \
--mem-gib 8 --mode w4a4" d-w4a4
echo "== benchmark shapes"
dev_cli_ab 3 "--tokens 1,2 --skewed off --kernels off --mem-gib 16" bench
echo "== benchmark shapes w4a4"
dev_cli_ab 2 "--tokens 1,2 --skewed off --kernels off --mem-gib 16 --mode w4a4" bench-w4a4
el end
