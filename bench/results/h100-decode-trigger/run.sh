#!/usr/bin/env bash
# Seventy-third session, H100. The one-token timeline (../h100-t1-timeline/) found GEMM 1's CTAs spread unevenly at
# gpt-oss-120b and deepseek-v4-flash T=1 (66-68 SMs holding four, 2-19 holding one): W4A16's GEMM 1 becomes resident
# as soon as the previous forward's GEMM 2 lets it launch (at GEMM 2's wait), so it is placed beside that GEMM 2's
# CTAs, and the SMs with four CTAs end GEMM 1 late. trigger.patch (compile-time FP4MOE_DIAG_TRIGGER) moves the decode
# GEMM 2's launch_dependents: 1 after its epilogue (before the combine), 2 never (the next kernel launches when
# GEMM 2's grid has ended). Three CLIs built on the CPU machine and carried (build-ab/clis.tar.xz: fp4moe-main = main
# 88d290e, fp4moe-t1, fp4moe-t2); every mode at 1-4 tokens, three alternating rounds.
source bench/device.sh && dev_init trigger && dev_unpack_carried
ROWS="--tokens 1,2,3,4 --skewed off --kernels off --mem-gib 16"
sides="main=CLI=build-ab/fp4moe-main t1=CLI=build-ab/fp4moe-t1 t2=CLI=build-ab/fp4moe-t2"
dev_env_ab w4a16 3 "$ROWS" $sides > /dev/null
dev_env_ab cal 2 "$ROWS --mode w4a4 --scales calibrated" $sides > /dev/null
dev_env_ab dyn 2 "$ROWS --mode w4a4" $sides > /dev/null
dev_print_ab
el done
