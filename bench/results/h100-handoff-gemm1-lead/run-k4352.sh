#!/usr/bin/env bash
# Call 4 (eighty-first session): K between deepseek-v4-flash's loss at 4096 and the landed line at 4608. The diagnostic
# (FP4MOE_DIAG_BESIDE=1) holds GEMM 1 beside the hand-off on both unsplit 8-token tiles where K is above 4096; main
# (73185f54) from 4608. So off / on is main / the line at K 4352 on every row below (`fp4moe kernels` of main and of
# the diagnostic off agree there): the one-m-tile tile with several rows an expert (24/4352/2048/8 T=5-12,
# 48/4352/1024/6 T=16-32) and well under one (160/4352/1536/6 T=5-6, 256/4352/2048/8 T=3, and deepseek-v4-flash's
# 256/*/2048/6 at T=4, the row that lost at K 4096), and the two-m-tile tile (24/4352/2048/8 T=16, 48/4352/1024/6
# T=48). W4A16 and calibrated W4A4, two rounds. Carried: build-ab/clis.tar.xz (only fp4moe-diag is used).
source bench/device.sh && dev_init handoff-gemm1-k4352 && dev_unpack_carried
source bench/results/h100-handoff-gemm1-lead/beside-ab.sh
beside_ab_shapes "24-4352 24 4352 2048 8 5,8,12,16" "48-4352 48 4352 1024 6 16,32,48" "160-4352 160 4352 1536 6 5,6" \
                 "256-4352-k8 256 4352 2048 8 3" "256-4352-k6 256 4352 2048 6 4"
dev_results
beside_print
el done
