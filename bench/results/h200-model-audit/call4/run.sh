#!/usr/bin/env bash
# Fifty-sixth session, call 4: the rule as it lands (the K-split tile to 5 rows per expert where GEMM 2 has at most
# 1.75 waves of it, 2 where GEMM 1's K is at least 4096; moe/dispatch.h's for_gemm2_waves) on this tree:
# tools/gpu-test.sh first, then its CLI against main a806a9a's (built here beside it), alternating, three rounds,
# W4A16 uniform unless named, on every row of call 3 (the rows the 1.75 line gives back to the unsplit tile are
# controls now), and at 1.94 waves, where the long-K line keeps the K-split tile (both CLIs run it there), the
# unsplit tile forced as a third side.
source bench/device.sh && dev_init split-band-landing
mkdir -p /tmp/tree-base && git archive a806a9a | tar -x -C /tmp/tree-base
(cd /tmp/tree-base && BT=/tmp/bt-base dev_tests_build 4 fp4moe_cli) &
dev_gpu_test 480
wait
B=CLI=/tmp/bt-base/src/cli/fp4moe N=CLI=/tmp/build-gpu/src/cli/fp4moe R64=FP4MOE_GEMM=mma8-r64-w4-s8-d4
A="--skewed off --kernels off --mem-gib 24"
dev_env_ab mix 3 "--experts 8 --hidden 4096 --intermediate 14336 --top-k 2 --tokens 1,2,4,8,16 $A" base=$B new=$N
dev_env_ab scout 3 "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 3,4,8,16,24 $A" base=$B new=$N
dev_env_ab g20 3 "--experts 32 --hidden 2880 --intermediate 2880 --top-k 4 --tokens 2,3,4,6,8 $A" base=$B new=$N
dev_env_ab v2l 3 "--experts 64 --hidden 2048 --intermediate 1408 --top-k 6 --tokens 2,3,4,6 $A" base=$B new=$N
dev_env_ab bench 3 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 3,4,5 $A" base=$B new=$N
dev_env_ab w4q 3 "--shapes qwen3-30b-a3b --tokens 3,4 --mode w4a4 $A" base=$B new=$N
dev_env_ab glm 3 "--experts 128 --hidden 4096 --intermediate 1408 --top-k 8 --tokens 2 $A" base=$B new=$N r64=$N,$R64
dev_env_ab q235 3 "--experts 128 --hidden 4096 --intermediate 1536 --top-k 8 --tokens 2 $A" base=$B new=$N r64=$N,$R64
el end
