#!/usr/bin/env bash
# Sixty-ninth session: the rule audit's call 2 (the session's call 5), on the H100 the call before left warm (call1/run.sh says why).
source bench/device.sh && dev_init rule-audit-2 && dev_unpack_carried
CLI=build-ab/fp4moe-head
dev_env_ab g 3 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 64,512 --kernels off --mem-gib 16" on= large=FP4MOE_LARGE_TILES=0 sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_env_ab c 2 "--shapes gpt-oss-120b,deepseek-v4-flash --tokens 64,512 --mode w4a4 --scales calibrated --kernels off --mem-gib 16" on= large=FP4MOE_LARGE_TILES=0 sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_print_ab
el done
