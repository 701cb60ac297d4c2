#!/usr/bin/env bash
# Prepared in the sixty-ninth session, not run (its device time was spent): the H200 side of two H100 findings.
# Before the call, build the CLI of main 3797ddd (before e1bb216 put the sorted-row copy's line at 24 rows per expert,
# so that FP4MOE_SORTED_ROWS=0 below turns a copy off at every batch) on the CPU machine and carry it compressed:
#   cmake --build BUILD --target fp4moe_cli && cp BUILD/src/cli/fp4moe /tmp/pk/fp4moe-base && strip /tmp/pk/fp4moe-base
#   tar -cf - -C /tmp/pk fp4moe-base | xz -9e -T2 > build-ab/clis.tar.xz      # then run with carry ["build-ab"]
# 1. The sorted-row copy (h100-rule-audit/): on the H100 it costs 0.3-2.5% at 384-512 tokens and pays from 1024; the
#    thirty-seventh session's H200 had it 0.2-4.2% faster at 512. FP4MOE_SORTED_ROWS=0 against the default at
#    384-1024 tokens on the three shapes it takes, W4A16 and calibrated W4A4.
# 2. The y-in-L2 rule's lines (43774d5): on an H200's 60 MiB they take qwen3 at 192-768 tokens, measured on the H100
#    only (up to 640 there). FP4MOE_Y_IN_L2=0 against the default at 192, 256, 704 and 768 tokens, and 512 as a control.
source bench/device.sh && dev_init h200-lines && dev_unpack_carried
nvidia-smi --query-gpu=name --format=csv,noheader
CLI=build-ab/fp4moe-base
dev_env_ab s 2 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 384,512,768,1024 --kernels off --mem-gib 16" \
  on= sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_env_ab sc 2 "--shapes gpt-oss-120b --tokens 512 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" \
  on= sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
if [ "${1:-}" = sorted ]; then  # `run.sh sorted`: this first part alone, for a call with little device time left
  dev_print_ab
  el done
  exit 0
fi
dev_env_ab y 3 "--shapes qwen3-30b-a3b --tokens 192,256,512,704,768 --kernels off --mem-gib 16" \
  on= off=FP4MOE_Y_IN_L2=0 > /dev/null
dev_env_ab yc 2 "--shapes qwen3-30b-a3b --tokens 192,256,704,768 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" \
  on= off=FP4MOE_Y_IN_L2=0 > /dev/null
# 3. The large tiles (h100-rule-audit/): on the H100 off at 64 tokens -0.8..-2.0% uniform, skewed -1.7..+1.4%; at 512
#    uniform -0.8..-1.1%, skewed +0.4..+2.5%. The same A/B on the H200 (added in the seventieth session).
dev_env_ab l 2 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 64,512 --kernels off --mem-gib 16" \
  on= large=FP4MOE_LARGE_TILES=0 > /dev/null
dev_print_ab
el done
