#!/usr/bin/env bash
# Call 5 (eighty-first session): K 4224, the last point between deepseek-v4-flash's loss at 4096 and the line main now
# draws at 4352 (9adb4d95). The diagnostic (FP4MOE_DIAG_BESIDE=1) holds GEMM 1 beside the hand-off on both unsplit
# 8-token tiles where K is above 4096, main from 4352, so off / on is main / the line at K 4224 (`fp4moe kernels` of
# main and of the diagnostic off agree there): call 4's shapes at K 4224, W4A16 and calibrated W4A4, two rounds.
# Carried: build-ab/clis.tar.xz (only fp4moe-diag is used).
source bench/device.sh && dev_init handoff-gemm1-k4224 && dev_unpack_carried
source bench/results/h100-handoff-gemm1-lead/beside-ab.sh
beside_ab_shapes "24-4224 24 4224 2048 8 5,8,12,16" "48-4224 48 4224 1024 6 16,32,48" "160-4224 160 4224 1536 6 5,6" \
                 "256-4224-k6 256 4224 2048 6 4"
dev_results
beside_print
el done
