#!/usr/bin/env bash
# Seventy-second session, H100: h100-y-line-shapes/ found 32/4096/2048/4 slower at 192 tokens (24 rows per expert,
# 226 us) than at 256 (32 rows, 207 us with y in L2, 216 without). At 192 the table runs the 32-token two-CTA wgmma
# tile, the sorted-row copy (from 24 rows) and the 128-token large tiles; at 224 on, the 48-token tile. Which of them
# costs: each rule switched off, and the 48-token tile forced against the 32-token tile forced (forcing drops the
# large tiles in both), on main 1e2c861's CLI carried as build-ab/fp4moe-main; deepseek-v2-lite's 24 rows (256
# tokens) beside it. W4A16, two alternating rounds.
source bench/device.sh && dev_init c32-192 && dev_unpack_carried
CLI=build-ab/fp4moe-main
dev_env_ab c 2 "--experts 32 --hidden 4096 --intermediate 2048 --top-k 4 --tokens 160,192,224 --kernels off --mem-gib 16" \
  on= sorted=FP4MOE_SORTED_ROWS=0 large=FP4MOE_LARGE_TILES=0 f32=FP4MOE_GEMM=wgmma32-r256-w8-s8-c2 \
  f48=FP4MOE_GEMM=wgmma48-r256-w8-s7-c2 > /dev/null
dev_env_ab v 2 "--experts 64 --hidden 2048 --intermediate 1408 --top-k 6 --tokens 224,256,288 --kernels off --mem-gib 16" \
  on= sorted=FP4MOE_SORTED_ROWS=0 large=FP4MOE_LARGE_TILES=0 f32=FP4MOE_GEMM=wgmma32-r256-w8-s8-c2 \
  f48=FP4MOE_GEMM=wgmma48-r256-w8-s7-c2 > /dev/null
dev_print_ab
el done
