#!/usr/bin/env bash
# Call 1: the decode kernels' dynamic shared memory padded, and their carveout preference, swept (the seventy-fourth
# session's lead: the stash's 24 KB a CTA allocated and unused took qwen3 T=2 W4A16 from 23.1 to 22.0 us).
# smem-diag.patch (main f7698cc plus FP4MOE_DIAG_DECODE_PAD, bytes added to each decode CTA's 18 KB, and
# FP4MOE_DIAG_DECODE_CARVEOUT, cudaFuncAttributePreferredSharedMemoryCarveout in percent) built on the CPU machine.
# Sides, one CLI: base (neither); p24 (24 KB: four CTAs an SM still, as the stash); p48 (three an SM); p88 (two);
# c50 and c100 (carveout preference 50% and 100%, no padding). Rows: every decode-kernel row (qwen3 and gpt-oss at
# 1-2 tokens, deepseek-v4-flash at 1), uniform.
source bench/device.sh && dev_init decode-smem && dev_unpack_carried
CLI=build-ab/fp4moe-diag
P=FP4MOE_DIAG_DECODE_PAD C=FP4MOE_DIAG_DECODE_CARVEOUT
SIDES="base= p24=$P=24576 p48=$P=49152 p88=$P=90112 c50=$C=50 c100=$C=100"
ROWS="--shapes qwen3-30b-a3b,gpt-oss-120b,deepseek-v4-flash --tokens 1,2 --skewed off --kernels off --mem-gib 16"
dev_env_ab w4a16 3 "$ROWS" $SIDES > /dev/null
dev_env_ab dyn 3 "$ROWS --mode w4a4" $SIDES > /dev/null
dev_env_ab cal 2 "$ROWS --mode w4a4 --scales calibrated" $SIDES > /dev/null
dev_print_ab
el done
