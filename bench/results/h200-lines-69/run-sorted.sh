#!/usr/bin/env bash
# The first part of run.sh alone (the sorted-row copy's line on an H200), for a call with little device time left:
# main 3797ddd's CLI carried in build-ab/clis.tar.xz as fp4moe-base, FP4MOE_SORTED_ROWS=0 against the default.
source bench/device.sh && dev_init h200-sorted && dev_unpack_carried
CLI=build-ab/fp4moe-base
dev_env_ab s 2 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 384,512,768,1024 --kernels off --mem-gib 16" \
  on= sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_env_ab sc 2 "--shapes gpt-oss-120b --tokens 512 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" \
  on= sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_print_ab
el done
