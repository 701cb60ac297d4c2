#!/usr/bin/env bash
# Seventieth session, H100. Where the sorted-row copy starts to pay on the H100: the sixty-ninth session's audit
# (h100-rule-audit/) had it off faster at 384-512 tokens (-0.3..-2.5%), mixed at 640-768 (uniform -0.7..+2.3%, skewed
# -0.3..-1.7%) and on faster at 1024 uniform (+2.4 / +3.1% off). FP4MOE_SORTED_ROWS=0 against the defaults on main
# 3797ddd's CLI (carried as build-ab/fp4moe-base), three rounds, the three shapes the rule takes, both routings, at
# 640-1536 tokens (20-48 rows per expert on gpt-oss and deepseek-v3, 15-36 on deepseek-v4-flash); calibrated and
# dynamic W4A4 at 768 and 1024.
source bench/device.sh && dev_init h100-sorted-line && dev_unpack_carried
CLI=build-ab/fp4moe-base
s="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --kernels off --mem-gib 16"
dev_env_ab w 3 "$s --tokens 640,768,896,1024,1280,1536" on= off=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_env_ab c 2 "$s --tokens 768,1024 --mode w4a4 --scales calibrated" on= off=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_env_ab d 2 "$s --tokens 768,1024 --mode w4a4" on= off=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_print_ab
el done
