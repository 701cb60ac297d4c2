#!/usr/bin/env bash
# Fifty-fourth session, call 2: is the decode kernels' two-m-tile tile (moe/dispatch.h's for_decode_kernels, W4A16
# only) still ahead of the one-m-tile one? The first call's W4A4 rows with calibrated scales (two kernels more, on
# the one-m-tile tile) beat W4A16 at gpt-oss T=2 and deepseek-v4-flash T=1. One CLI, FP4MOE_DECODE_TWO_M_TILES on
# and off alternating, three rounds, W4A16 uniform at 1-4 tokens on every shape; the kernels listed once each.
# It ran on main 668cae2 with two-m-tiles-switch.patch (the switch FP4MOE_DECODE_TWO_M_TILES, not on main).
source bench/device.sh && dev_init two-m-tiles
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bt --target fp4moe_cli -j16) > "$R/cmake.log" 2>&1
el "cli build rc=$?"
CLI=/tmp/bt/src/cli/fp4moe
ARGS="--tokens 1,2,3,4 --skewed off --kernels off --mem-gib 16"
for r in 1 2 3; do
  for side in on off; do
    v=1; [ $side = off ] && v=0
    FP4MOE_DECODE_TWO_M_TILES=$v timeout 120 $CLI bench $ARGS --json "$R/$side-r$r.json" > "$R/$side-r$r.txt" 2>&1
    el "$side r$r rc=$?"
  done
done
python3 bench/ab.py --compare "$R/on-r1.json,$R/on-r2.json,$R/on-r3.json" "$R/off-r1.json,$R/off-r2.json,$R/off-r3.json" \
  > "$R/ab.txt" 2>&1
grep -v '^|---\|^| shape' "$R/ab.txt" | cut -d'|' -f2-9
for side in on off; do
  v=1; [ $side = off ] && v=0
  FP4MOE_DECODE_TWO_M_TILES=$v timeout 60 $CLI bench --tokens 1,2 --skewed off --mem-gib 16 --kernels list \
    > "$R/kernels-$side.txt" 2>&1
done
el end
