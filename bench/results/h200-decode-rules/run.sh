#!/usr/bin/env bash
# Fifty-fourth session, call 6: the two decode-batch rules without a switch, measured again on main b3b0aef with
# diag-decode-rules.patch (not for main): FP4MOE_DIAG_DECODE_ALL runs the decode kernels on every batch of at most 32
# pairs (the warp plan's limit) whatever GEMM 2's waves (moe/dispatch.h's use_decode_kernels: 16 pairs and one wave);
# FP4MOE_DIAG_TWO_SLICES keeps the two-slice tile where for_grid gives the four-slice one (a GEMM within one wave of
# it). One CLI, the three sides alternating, two rounds, W4A16 uniform at 1-4 tokens (and gpt-oss to 8).
source bench/device.sh && dev_init decode-rules
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bt --target fp4moe_cli -j16) > "$R/cmake.log" 2>&1
el "cli build rc=$?"
CLI=/tmp/bt/src/cli/fp4moe
ARGS="--tokens 1,2,3,4 --skewed off --kernels off --mem-gib 16"
for r in 1 2; do
  for side in main all two; do
    case $side in
      main) env= ;;
      all) env=FP4MOE_DIAG_DECODE_ALL=1 ;;
      two) env=FP4MOE_DIAG_TWO_SLICES=1 ;;
    esac
    env $env timeout 120 $CLI bench $ARGS --json "$R/$side-r$r.json" > "$R/$side-r$r.txt" 2>&1
    el "$side r$r rc=$?"
    env $env timeout 60 $CLI bench --shapes gpt-oss-120b --tokens 6,8 --skewed off --kernels off --mem-gib 16 \
      --json "$R/$side-g-r$r.json" > "$R/$side-g-r$r.txt" 2>&1
  done
done
for side in all two; do
  python3 bench/ab.py --compare "$R/main-r1.json,$R/main-r2.json" "$R/$side-r1.json,$R/$side-r2.json" > "$R/ab-$side.txt" 2>&1
  python3 bench/ab.py --compare "$R/main-g-r1.json,$R/main-g-r2.json" "$R/$side-g-r1.json,$R/$side-g-r2.json" \
    > "$R/ab-$side-g.txt" 2>&1
  echo "== main -> $side"; grep -hv '^|---\|^| shape' "$R/ab-$side.txt" "$R/ab-$side-g.txt" | cut -d'|' -f2-9
done
el end
