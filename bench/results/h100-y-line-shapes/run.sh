#!/usr/bin/env bash
# Seventy-second session, H100: the y-in-L2 rule (moe/dispatch.h's y_stays_in_l2: y and h within L2 and y at least
# 3.5% of the touched weights' bytes) on shapes other than qwen3's, on which alone its lines were drawn (sixty-seventh
# and sixty-ninth sessions). `fp4moe kernels` puts it on deepseek-v2-lite (64/2048/1408/6) at 256-768 tokens (the
# 32-, 48-, 64- and 128-token wgmma tiles), on 32/4096/2048/4 at 256-640, and on 8/5120/8192/1 (few large experts)
# at 1024-1280. FP4MOE_Y_IN_L2=0 against the default on main 1e2c861's CLI (built on the CPU machine, carried in
# build-ab/clis.tar.xz as fp4moe-main), two alternating rounds, W4A16; 192 and 1024 tokens on the first two shapes
# and 768 on the third are controls that the rule does not take.
source bench/device.sh && dev_init y-line-shapes && dev_unpack_carried
CLI=build-ab/fp4moe-main
dev_env_ab v2 2 "--experts 64 --hidden 2048 --intermediate 1408 --top-k 6 --tokens 192,256,384,512,768,1024 --kernels off --mem-gib 16" \
  on= off=FP4MOE_Y_IN_L2=0 > /dev/null
dev_env_ab c32 2 "--experts 32 --hidden 4096 --intermediate 2048 --top-k 4 --tokens 192,256,512,640 --kernels off --mem-gib 16" \
  on= off=FP4MOE_Y_IN_L2=0 > /dev/null
dev_env_ab f8 2 "--experts 8 --hidden 5120 --intermediate 8192 --top-k 1 --tokens 768,1024,1280 --kernels off --mem-gib 16" \
  on= off=FP4MOE_Y_IN_L2=0 > /dev/null
dev_print_ab
el done
