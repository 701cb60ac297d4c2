#!/usr/bin/env bash
# Fifty-fourth session, call 5: the small-batch band's tiles at 8-64 tokens, the table's choice (main 05ed003: the
# 8-token tile at 64 or 128 rows per the wave rule, moe/dispatch.h's for_waves, GEMM 1 finding its own tiles at about
# one wave) against both GEMMs forced to the 64-row and to the 128-row unsplit 8-token tile (FP4MOE_GEMM, which also
# turns the own tiles off), alternating, two rounds, W4A16 uniform.
source bench/device.sh && dev_init small-tile-audit
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bt --target fp4moe_cli -j16) > "$R/cmake.log" 2>&1
el "cli build rc=$?"
CLI=/tmp/bt/src/cli/fp4moe
ARGS="--tokens 8,16,32,64 --skewed off --kernels off --mem-gib 16"
for r in 1 2; do
  for side in table r64 r128; do
    case $side in
      table) gemm= ;;
      r64) gemm=mma8-r64-w4-s8-d4 ;;
      r128) gemm=mma8-r128-w4-s8-d4 ;;
    esac
    FP4MOE_GEMM=$gemm timeout 120 $CLI bench $ARGS --json "$R/$side-r$r.json" > "$R/$side-r$r.txt" 2>&1
    el "$side r$r rc=$?"
  done
done
for side in r64 r128; do
  python3 bench/ab.py --compare "$R/table-r1.json,$R/table-r2.json" "$R/$side-r1.json,$R/$side-r2.json" \
    > "$R/ab-$side.txt" 2>&1
  echo "== table -> $side"; grep -v '^|---\|^| shape' "$R/ab-$side.txt" | cut -d'|' -f2-9
done
el end
