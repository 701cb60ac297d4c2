#!/usr/bin/env bash
# Prepared in the seventy-second session, run in the seventy-third (README.md). The 24-row line between the 32- and
# 48-token two-CTA wgmma tiles (moe/dispatch.h: the 48-token tile from more than 24 rows per expert) was drawn as a tie
# at 24 rows on the benchmark shapes (H200); h100-c32-192/ found the 48-token tile 10.8% faster at 24 rows on
# 32/4096/2048/4 uniform (192 tokens). Both tiles forced (forcing drops the large tiles, which few-expert shapes no
# longer take since 337886a) at 20-24 rows per expert on few-expert shapes, qwen3-235b, deepseek-v2-lite and qwen3,
# against the defaults too; W4A16, both routings, two alternating rounds, main 337886a's CLI (build-ab/fp4moe-new in
# clis.tar.xz, built on the CPU machine: carry ["build-ab"]). ab-<tag>-f48-vs-f32.txt is the comparison that decides.
source bench/device.sh && dev_init band24 && dev_unpack_carried
CLI=build-ab/fp4moe-new
forced() {  # TAG "SHAPE ARGS" TOKENS
  dev_env_ab "$1" 2 "$2 --tokens $3 --kernels off --mem-gib 16" on= f32=FP4MOE_GEMM=wgmma32-r256-w8-s8-c2 \
    f48=FP4MOE_GEMM=wgmma48-r256-w8-s7-c2 > /dev/null
  dev_ab_json "ab-$1-f48-vs-f32.txt" "$R/$1-f32-r1.json,$R/$1-f32-r2.json" "$R/$1-f48-r1.json,$R/$1-f48-r2.json" > /dev/null
}
forced c32 "--experts 32 --hidden 4096 --intermediate 2048 --top-k 4" 160,176,192
forced oss20 "--experts 32 --hidden 2880 --intermediate 2880 --top-k 4" 160,176,192
forced scout "--experts 16 --hidden 5120 --intermediate 8192 --top-k 1" 320,352,384
forced q235 "--experts 128 --hidden 4096 --intermediate 1536 --top-k 8" 320,352,384
forced v2lite "--experts 64 --hidden 2048 --intermediate 1408 --top-k 6" 213,235,256
forced qwen3 "--shapes qwen3-30b-a3b" 320,352,384
dev_print_ab
el done
