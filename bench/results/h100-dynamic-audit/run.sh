#!/usr/bin/env bash
# Dynamic W4A4's rules and tiles at #6's near misses (eighty-second session): main's CLI (built on the CPU machine,
# carried in build-ab/clis.tar.xz as fp4moe-main), each side a rule switched off or a tile forced, three rounds.
# The table was drawn mostly in W4A16, where GEMM 2 takes GEMM 1's tiles as they finish; in dynamic W4A4 it runs
# alone after h's quantization, so another tile or rule may win there.
set -uo pipefail
source bench/device.sh && dev_init dynamic-audit
dev_unpack_carried
CLI=build-ab/fp4moe-main
K="--kernels off"
# qwen3 T=64, uniform and skewed (1.27 / 1.31x the floor in 382e99f's table): the 16-token tile.
dev_env_ab q64 3 "--shapes qwen3-30b-a3b --tokens 64 --mode w4a4 $K" table= m16=FP4MOE_GEMM=mma16-r128-w4-s4-d4
# gpt-oss T=512 skewed (1.31x): without the large tiles, or on the 48- or 64-token wgmma tiles.
dev_env_ab g512 3 "--shapes gpt-oss-120b --tokens 512 --mode w4a4 $K" table= nolarge=FP4MOE_LARGE_TILES=0 \
  w48=FP4MOE_GEMM=wgmma48-r256-w8-s7-c2 w64=FP4MOE_GEMM=wgmma64-r256-w8-s8
# qwen3 T=8 (1.41x): the 16-token tile, GEMM 1 without its own tiles.
dev_env_ab q8 3 "--shapes qwen3-30b-a3b --tokens 8 --mode w4a4 $K" table= m16=FP4MOE_GEMM=mma16-r128-w4-s4-d4 \
  noown=FP4MOE_OWN_TILES=0
# qwen3 T=512 (1.60 / 1.71x): GEMM 2 not persistent, y not kept in L2.
dev_env_ab q512 2 "--shapes qwen3-30b-a3b --tokens 512 --mode w4a4 $K" table= nopers=FP4MOE_PERSISTENT_DOWN=0 \
  noyl2=FP4MOE_Y_IN_L2=0
dev_print_ab
dev_results
