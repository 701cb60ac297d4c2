#!/usr/bin/env bash
# Call 3: where the diagnostic's line is wider than the landed rule. The diagnostic (FP4MOE_DIAG_BESIDE=1) holds GEMM 1
# beside the hand-off where K is above 4096 on both unsplit 8-token tiles; main (38feefe6) only the one-m-tile tile
# (mma8-r64) from K 5120. So off / on is main / the wider line on every row below (`fp4moe kernels` of main and of the
# diagnostic off agree there): K 4608 on the one-m-tile tile (24/4608/2048/8 T=5-14, 48/4608/1024/6 T=16-32), and the
# two-m-tile tile (mma8-r128, five CTAs an SM held to four) at K 4608 and 5120 (24/*/2048/8 T=16, 48/*/1024/6 T=48).
# W4A16 and calibrated W4A4, two rounds. Carried: build-ab/clis.tar.xz as for run-few.sh (only fp4moe-diag is used).
source bench/device.sh && dev_init handoff-gemm1-wider && dev_unpack_carried
CLI=build-ab/fp4moe-diag
SIDES="off= on=FP4MOE_DIAG_BESIDE=1"
ROWS="--skewed off --kernels off --mem-gib 16"
custom() {  # TAG MODE_ARGS E H I K TOKENS
  dev_env_ab "$1" 2 "--experts $3 --hidden $4 --intermediate $5 --top-k $6 --tokens $7 $ROWS $2" $SIDES > /dev/null
}
for shape in "24-4608 24 4608 2048 8 5,8,12,14,16" "48-4608 48 4608 1024 6 16,24,32,48" "24-5120 24 5120 2048 8 16" \
             "48-5120 48 5120 1024 6 48"; do
  set -- $shape
  custom "$1-w4a16" "" $2 $3 $4 $5 $6
  custom "$1-cal" "--mode w4a4 --scales calibrated" $2 $3 $4 $5 $6
done
dev_results
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s |%s\n", f[2], f[4], f[6], f[7], f[8], f[9]}'
el done
