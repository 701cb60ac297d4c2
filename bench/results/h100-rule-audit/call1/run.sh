#!/usr/bin/env bash
# Sixty-ninth session, fourth call (H100): the dispatch rules that apply to the decode tables' rows still over #6's
# lines, each switched off against main 43774d5's defaults (one CLI built on the CPU machine and carried), two
# alternating rounds. The rules were measured on H200s; an H100 has 0.7 times the bandwidth on the same SMs, so a
# rule that hides memory time behind compute may turn. W4A16 at 8, 64 and 512 tokens on qwen3 and gpt-oss-120b (the
# rules there: the tile hand-off, the persistent GEMM 2, own tiles, the large tiles, the sorted-row copy); then
# dynamic W4A4 at qwen3 8 and 64 tokens with own tiles off.
source bench/device.sh && dev_init rule-audit && dev_unpack_carried
CLI=build-ab/fp4moe-head
dev_env_ab w 2 "--shapes qwen3-30b-a3b,gpt-oss-120b --tokens 8,64,512 --kernels off --mem-gib 16" on= \
  handoff=FP4MOE_TILE_HANDOFF=0 persistent=FP4MOE_PERSISTENT_DOWN=0 own=FP4MOE_OWN_TILES=0 \
  large=FP4MOE_LARGE_TILES=0 sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_env_ab d 2 "--shapes qwen3-30b-a3b --tokens 8,64 --mode w4a4 --kernels off --mem-gib 16" on= \
  own=FP4MOE_OWN_TILES=0 > /dev/null
dev_print_ab
el done
