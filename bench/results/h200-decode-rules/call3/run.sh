#!/usr/bin/env bash
# Fifty-fourth session, call 8: qwen3's one-token forward with both GEMMs on the two-slice tile in every mode (call 6
# measured W4A16 only, two rounds). Main df870f6 with ../diag-decode-rules.patch (FP4MOE_DIAG_TWO_SLICES), one CLI,
# on and off alternating, three rounds, qwen3 T=1 (and T=2, unchanged, as the control) in W4A16, W4A4 and W4A4
# with calibrated scales.
source bench/device.sh && dev_init two-slices-modes
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bt --target fp4moe_cli -j16) > "$R/cmake.log" 2>&1
el "cli build rc=$?"
CLI=/tmp/bt/src/cli/fp4moe
for r in 1 2 3; do
  for side in main two; do
    for mode in w4a16 w4a4 w4a4cal; do
      args="--mode ${mode%cal}"; [ $mode = w4a4cal ] && args+=" --scales calibrated"
      if [ $side = two ]; then export FP4MOE_DIAG_TWO_SLICES=1; else unset FP4MOE_DIAG_TWO_SLICES; fi
      timeout 60 $CLI bench --shapes qwen3-30b-a3b --tokens 1,2 --skewed off --kernels off --mem-gib 8 $args \
        --json "$R/$side-$mode-r$r.json" > "$R/$side-$mode-r$r.txt" 2>&1
    done
    unset FP4MOE_DIAG_TWO_SLICES
    el "$side r$r"
  done
done
for mode in w4a16 w4a4 w4a4cal; do
  python3 bench/ab.py --compare "$R/main-$mode-r1.json,$R/main-$mode-r2.json,$R/main-$mode-r3.json" \
    "$R/two-$mode-r1.json,$R/two-$mode-r2.json,$R/two-$mode-r3.json" > "$R/ab-$mode.txt" 2>&1
  grep -v '^|---\|^| shape' "$R/ab-$mode.txt" | cut -d'|' -f2-9
done
el end
