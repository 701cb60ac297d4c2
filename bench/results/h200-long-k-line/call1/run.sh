#!/usr/bin/env bash
# Fifty-sixth session, call 1, main a806a9a: tools/gpu-test.sh first (ae77a2e's batches at 9 rows per expert had not
# run on a GPU), then with its CLI, W4A16, uniform, custom shapes written experts/hidden/intermediate/top-k:
#   k: the 32-token two-CTA tile forced (w32) against the table (the 16-token tile) at 8 and 9 rows per expert on
#      shapes whose shorter K is 1024 and 1536, between qwen3's 768 (the 16-token tile won) and the 2048 of
#      for_long_k's line (moe/dispatch.h), two rounds;
#   s: both one-token GEMMs forced to four slices (k4) against the table (both on two: GEMM 2's slices would keep 3
#      K steps, under kFourSliceMinSteps) on 64/4096/768/4, three rounds;
#   a: 64/3072/3072/2 at two tokens, the table (GEMM 2 on four slices) against both GEMMs on two (k2), with each
#      kernel's time (--kernels list), three rounds: which kernel makes four slices 8% slower there.
source bench/device.sh && dev_init long-k-line
dev_gpu_test 480
CLI=/tmp/build-gpu/src/cli/fp4moe
W32=FP4MOE_GEMM=wgmma32-r256-w8-s8-c2
dev_env_ab k1024 2 "--experts 128 --hidden 2048 --intermediate 1024 --top-k 8 --tokens 128,144 --skewed off \
--kernels off --mem-gib 8" table= w32=$W32
dev_env_ab k1536 2 "--experts 128 --hidden 2048 --intermediate 1536 --top-k 8 --tokens 128,144 --skewed off \
--kernels off --mem-gib 8" table= w32=$W32
dev_env_ab h1536 2 "--experts 128 --hidden 1536 --intermediate 2048 --top-k 8 --tokens 128,144 --skewed off \
--kernels off --mem-gib 8" table= w32=$W32
dev_env_ab s768 3 "--experts 64 --hidden 4096 --intermediate 768 --top-k 4 --tokens 1,2 --skewed off \
--kernels off --mem-gib 8" table= k4=FP4MOE_GEMM=mma8-r64-w4-s8-d4-k4
dev_env_ab a3072 3 "--experts 64 --hidden 3072 --intermediate 3072 --top-k 2 --tokens 2 --skewed off \
--kernels list --mem-gib 8" table= k2=FP4MOE_GEMM=mma8-r64-w4-s8-d4-k2
el end
