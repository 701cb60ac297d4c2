#!/usr/bin/env bash
# Fifty-sixth session, call 3: the K-split decode tile wherever GEMM 2 has at most two waves of it, up to 5 rows per
# expert (the table's first band widened from 0.13 rows; for_gemm2_waves unchanged), against main a806a9a, both CLIs
# built here side by side, alternating, three rounds, W4A16 uniform unless named: the public models of call 2 whose
# tiles change (experts/hidden/intermediate/top-k), the benchmark shapes' changed rows (qwen3 T=3, 4; gpt-oss T=5;
# the rest of those runs are controls), and W4A4. Where both GEMMs on four slices won in call 2 (mixtral, scout), a
# third side forces that tile. Then the new GPU layer test and the layer tests around it, on this tree.
source bench/device.sh && dev_init split-band
mkdir -p /tmp/tree-base && git archive a806a9a | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 6 fp4moe_cli) &
BT=/tmp/bt dev_tests_build 10 fp4moe_cli fp4moe_gpu_layer_tests
wait
B=CLI=/tmp/bt-base/src/cli/fp4moe N=CLI=/tmp/bt/src/cli/fp4moe K4=FP4MOE_GEMM=mma8-r64-w4-s8-d4-k4
A="--skewed off --kernels off --mem-gib 24"
dev_env_ab mix 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 1,2,4,8,16 $A" base=$B new=$N \
  k4=$N,$K4
dev_env_ab scout 3 "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 3,4,8,16,24 $A" base=$B new=$N \
  k4=$N,$K4
dev_env_ab g20 3 "--experts 32 --hidden 2880 --intermediate 2880 --top-k 4 --tokens 2,3,4,6,8 $A" base=$B new=$N
dev_env_ab v2l 3 "--experts 64 --hidden 2048 --intermediate 1408 --top-k 6 --tokens 2,3,4,6 $A" base=$B new=$N
dev_env_ab bench 3 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 3,4,5 $A" base=$B new=$N
dev_env_ab w4q 3 "--shapes qwen3-30b-a3b --tokens 3,4 --mode w4a4 $A" base=$B new=$N
dev_env_ab w4m 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 1,8 --mode w4a4 $A" base=$B new=$N
BT=/tmp/bt dev_gtest layer 200 'GpuLayer.KSplitTiles*:GpuLayer.BenchmarkShapesSmallBatches:GpuLayer.EdgeCases'
dev_results
