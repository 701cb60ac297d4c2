#!/usr/bin/env bash
# Call 2: padding per GEMM. pad-diag.patch (main f7698cc plus FP4MOE_DIAG_DECODE_PAD1/2, bytes added to the decode
# GEMM 1's / GEMM 2's 18 KB a CTA, and FP4MOE_DIAG_KSPLIT_PAD1/2, the same for the grouped kernels of the K-split
# tiles) built on the CPU machine. 48 KB: three CTAs an SM instead of four; 88 KB: two.
# Sides, one CLI: base; all48 (all four); d1 / d2 (the decode GEMM 1 / GEMM 2, 48 KB); d1x / d2x (88 KB);
# k1 / k2 (the grouped K-split GEMM 1 / GEMM 2, 48 KB). Rows: every shape at 1, 2 and 4 tokens, uniform.
source bench/device.sh && dev_init pad-diag && dev_unpack_carried
CLI=build-ab/fp4moe-diag
D=FP4MOE_DIAG_DECODE_PAD K=FP4MOE_DIAG_KSPLIT_PAD
SIDES="base= all48=${D}1=49152,${D}2=49152,${K}1=49152,${K}2=49152 d1=${D}1=49152 d2=${D}2=49152 d1x=${D}1=90112
 d2x=${D}2=90112 k1=${K}1=49152 k2=${K}2=49152"
ROWS="--shapes all --tokens 1,2,4 --skewed off --kernels off --mem-gib 16"
dev_env_ab w4a16 3 "$ROWS" $SIDES > /dev/null
dev_env_ab dyn 2 "$ROWS --mode w4a4" $SIDES > /dev/null
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s |%s\n", f[2], f[4], f[8], f[9]}'
el done
