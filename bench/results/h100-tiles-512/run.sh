#!/usr/bin/env bash
# Sixty-second session, H100: does the dispatch table's tile for qwen3 at 512 tokens (32 rows per expert: the
# 48-token two-CTA wgmma tile, chosen on the H200) also win on the H100, where #6's row is 1.47x its floor? Each
# wgmma tile forced (FP4MOE_GEMM) against the table, W4A16, uniform, two alternating rounds, one CLI (built on the
# CPU machine from this tree and carried as build-ab/fp4moe-new). Then the W4A16 prefill command again for qwen3
# with the module of the call before it (h100-checks-62/run.sh), if this machine still holds it: #7's qwen3 16384
# row sits on its 1.15 line.
source bench/device.sh && dev_init tiles-512
CLI=build-ab/fp4moe-new
args="--shapes qwen3-30b-a3b --tokens 384,512,640 --skewed off --kernels off"
dev_env_ab t512 2 "$args" table= w32=FP4MOE_GEMM=wgmma32-r256-w8-s8-c2 w64=FP4MOE_GEMM=wgmma64-r256-w8-s8 \
  w128=FP4MOE_GEMM=wgmma128-r256-w8-s8
if [ -d /tmp/mod-head/fp4moe ]; then
  dev_bench prefill-qwen3-r2 /tmp/mod-head --modes w4a16 --shapes qwen3-30b-a3b --tokens 4096,16384 --skewed off
  grep -H "| 16384 |" "$R"/prefill-qwen3-r2/*.md | cut -d'|' -f1-4,7,8,15,17
fi
el end
