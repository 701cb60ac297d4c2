#!/usr/bin/env bash
# Call 2 (seventy-eighth session). Call 1 measured the line on many-expert shapes (0.06-0.44 rows an expert): every
# held row gained (0.922-0.986) and the unheld 160/5120/1536/6 T=7 stayed level. But the line as it would land also
# holds GEMM 1 on few-expert shapes with several rows an expert, which call 1 did not measure (`fp4moe kernels`,
# branch wip/beside-gemm1 against main): 24/4608/2048/8 T=5-16 (the 128-row tile at T=16, four CTAs an SM),
# 48/4608/1024/6 T=16-48, 32/7168/2048/4 T=8-10, and 128/6144/1536/8 and 256/5120/1536/8 T=4. This call measures
# those (the same carried diagnostic CLI, two rounds, W4A16 and calibrated W4A4), and every test of the branch's
# layer test binary (call 1 ran only its fewer-CTAs and rule-off tests), run last.
source bench/device.sh && dev_init handoff-gemm1-few && dev_unpack_carried
CLI=build-ab/fp4moe-diag
SIDES="off= on=FP4MOE_DIAG_BESIDE=1"
ROWS="--skewed off --kernels off --mem-gib 16"
custom() {  # TAG MODE_ARGS E H I K TOKENS
  dev_env_ab "$1" 2 "--experts $3 --hidden $4 --intermediate $5 --top-k $6 --tokens $7 $ROWS $2" $SIDES > /dev/null
}
# Shape by shape, both modes, the K 4608 rows first (the line's unmeasured edge), the branch's tests last: a call cut
# short by the device time left still returns the runs made (`el` packs each).
for shape in "24-4608 24 4608 2048 8 5,8,12,16" "48-4608 48 4608 1024 6 16,32,48" "32-7168 32 7168 2048 4 8" \
             "128-6144 128 6144 1536 8 4" "256-5120 256 5120 1536 8 4"; do
  set -- $shape
  custom "$1-w4a16" "" $2 $3 $4 $5 $6
  custom "$1-cal" "--mode w4a4 --scales calibrated" $2 $3 $4 $5 $6
done
dev_carried_gtest land_layer 150
dev_results
dev_print_ab | awk '/^==/ {print; next} {split($0, f, "|"); printf "%s %s %s %s %s |%s\n", f[2], f[4], f[6], f[7], f[8], f[9]}'
el done
