#!/usr/bin/env bash
# Call 3: where the diagnostic's line is wider than the landed rule. The diagnostic (FP4MOE_DIAG_BESIDE=1) holds GEMM 1
# beside the hand-off where K is above 4096 on both unsplit 8-token tiles; main (38feefe6) only the one-m-tile tile
# (mma8-r64) from K 5120. So off / on is main / the wider line on every row below (`fp4moe kernels` of main and of the
# diagnostic off agree there): K 4608 on the one-m-tile tile (24/4608/2048/8 T=5-14, 48/4608/1024/6 T=16-32), and the
# two-m-tile tile (mma8-r128, five CTAs an SM held to four) at K 4608 and 5120 (24/*/2048/8 T=16, 48/*/1024/6 T=48).
# W4A16 and calibrated W4A4, two rounds. Carried: build-ab/clis.tar.xz as for run-few.sh (only fp4moe-diag is used).
source bench/device.sh && dev_init handoff-gemm1-wider && dev_unpack_carried
source bench/results/h100-handoff-gemm1-lead/beside-ab.sh
beside_ab_shapes "24-4608 24 4608 2048 8 5,8,12,14,16" "48-4608 48 4608 1024 6 16,24,32,48" "24-5120 24 5120 2048 8 16" \
                 "48-5120 48 5120 1024 6 48"
dev_results
beside_print
el done
