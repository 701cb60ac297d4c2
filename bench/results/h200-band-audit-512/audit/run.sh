#!/usr/bin/env bash
# Fifty-fifth session, call 4: the dispatch table's wgmma bands at 256-1024 tokens measured again (last measured in
# the seventeenth to thirty-first sessions; the consumers, the sorted rows and the codecs changed since). Main with
# the new one-token slice rule (no change at these batches), one CLI, the table against both GEMMs forced to each
# candidate tile (FP4MOE_GEMM, which also turns the large tiles off), alternating, two rounds, W4A16 uniform.
# Rows per expert: qwen3 T/16, gpt-oss and deepseek-v3 T/32, deepseek-v4-flash 3T/128.
source bench/device.sh && dev_init band-audit
dev_cli
dev_env_ab band 2 "--tokens 256,512,1024 --skewed off --kernels off --mem-gib 16" table= \
  w32=FP4MOE_GEMM=wgmma32-r256-w8-s8-c2 w48=FP4MOE_GEMM=wgmma48-r256-w8-s7-c2 w64=FP4MOE_GEMM=wgmma64-r256-w8-s8 \
  m16=FP4MOE_GEMM=mma16-r128-w4-s4-d4
el end
