#!/usr/bin/env bash
# Seventy-third session, H100 (run; README.md). ../h100-t1-timeline/: at qwen3 T=1 GEMM 2's CTAs are resident from 0.6 us and idle
# until their wait at 10.4 us, with 4 of each slice's 6 K steps in their register rings; after the wait they take
# 3.4 us, two steps of it from DRAM. deep-down.patch (diagnostic): a K-split decode tile with a register ring of six
# (mma8-r64-w4-s6-d6-k2, 80 registers, three CTAs an SM) that FP4MOE_DIAG_DEEP_DOWN=1 gives the decode GEMM 2 where the
# table gives it the two-slice tile (qwen3 T=1-2, gpt-oss T=2, deepseek-v4-flash T=1). One CLI built on the CPU
# machine and carried (build-ab/clis.tar.xz: fp4moe-deep), the switch off against on, every mode, three rounds.
source bench/device.sh && dev_init deep-down && dev_unpack_carried
CLI=build-ab/fp4moe-deep
ROWS="--tokens 1,2 --skewed off --kernels off --mem-gib 16"
dev_env_ab w4a16 3 "$ROWS" off= deep=FP4MOE_DIAG_DEEP_DOWN=1 > /dev/null
dev_env_ab cal 3 "$ROWS --mode w4a4 --scales calibrated" off= deep=FP4MOE_DIAG_DEEP_DOWN=1 > /dev/null
dev_env_ab dyn 3 "$ROWS --mode w4a4" off= deep=FP4MOE_DIAG_DEEP_DOWN=1 > /dev/null
dev_print_ab
el done
