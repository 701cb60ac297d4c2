#!/usr/bin/env bash
# Seventy-second session, H100: h100-c32-192/ found the large tiles (moe/dispatch.h's large_tile_for: the 128-token
# wgmma tile for the hot experts above the table's wgmma tiles) 3-4% slower on 32/4096/2048/4 at 160-224 uniform
# tokens and 23% slower at 224 skewed (311.7 -> 240.6 us without them). Their lines were drawn on the benchmark
# shapes (128-256 experts) and on the H200. Here FP4MOE_LARGE_TILES=0 against the default on public models with few
# experts, over the batches where `fp4moe kernels` gives them large tiles: 32/4096/2048/4, gpt-oss-20b
# (32/2880/2880/4), mixtral (8/4096/14336/2), qwen3-235b (128/4096/1536/8), llama4-scout (16/5120/8192/1). W4A16,
# both routings, three alternating rounds, main 1e2c861's CLI carried as build-ab/fp4moe-main.
source bench/device.sh && dev_init large-few && dev_unpack_carried
CLI=build-ab/fp4moe-main
ab() {  # TAG "E H I K" TOKENS
  local e h i k
  read -r e h i k <<< "$2"
  dev_env_ab "$1" 3 "--experts $e --hidden $h --intermediate $i --top-k $k --tokens $3 --kernels off --mem-gib 16" \
    on= off=FP4MOE_LARGE_TILES=0 > /dev/null
}
ab c32 "32 4096 2048 4" 96,128,160,192,224,256,320,384,512
ab oss20 "32 2880 2880 4" 96,128,160,192,224,256,320,384,512
ab mixtral "8 4096 14336 2" 96,128,160,192,224
ab q235 "128 4096 1536 8" 64,96,128,192,256,384,512,768,1024
ab scout "16 5120 8192 1" 64,96,128,192,256,384,512,768,1024
dev_print_ab
el done
