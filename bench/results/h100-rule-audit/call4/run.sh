#!/usr/bin/env bash
# Sixty-ninth session: the rule audit's call 4 (the session's call 7), on the H100 the call before left warm (call1/run.sh says why).
source bench/device.sh && dev_init rule-audit-4 && dev_unpack_carried
CLI=build-ab/fp4moe-head
dev_env_ab m 2 "--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 384,640,768 --kernels off --mem-gib 16" on= sorted=FP4MOE_SORTED_ROWS=0 > /dev/null
dev_print_ab
el done
