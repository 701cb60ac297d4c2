#!/usr/bin/env bash
# Seventy-second session, H100, after ../run.sh (the large tiles lose on few-expert models at 128-384 tokens): the
# same switch, FP4MOE_LARGE_TILES=0 against the default, on the benchmark shapes that take the 128-token large tile
# below 512 tokens (gpt-oss-120b and deepseek-v3 from 256, deepseek-v4-flash from 384; qwen3 never has large tiles),
# and at 640 beside them: would a line at 512 tokens cost them? W4A16, both routings, three alternating rounds, main
# 1e2c861's CLI carried as build-ab/fp4moe-main.
source bench/device.sh && dev_init large-bench && dev_unpack_carried
CLI=build-ab/fp4moe-main
dev_env_ab oss 3 "--shapes gpt-oss-120b --tokens 256,320,384,448,640 --kernels off --mem-gib 16" on= off=FP4MOE_LARGE_TILES=0 > /dev/null
dev_env_ab v4 3 "--shapes deepseek-v4-flash --tokens 384,448,640 --kernels off --mem-gib 16" on= off=FP4MOE_LARGE_TILES=0 > /dev/null
dev_env_ab v3 3 "--shapes deepseek-v3 --tokens 256,320,384,448 --kernels off --mem-gib 16" on= off=FP4MOE_LARGE_TILES=0 > /dev/null
dev_print_ab
el done
