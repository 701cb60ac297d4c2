#!/usr/bin/env bash
# Fifty-fourth session, call 7: which of qwen3's one-token GEMMs gains from the two-slice tile (call 6: both GEMMs on it,
# 15.1 -> 14.7 us)? Main b3b0aef with diag-two-slices-per-gemm.patch (not for main): FP4MOE_DIAG_TWO_SLICES=gemm1 or
# gemm2 keeps that GEMM on the two-slice tile where for_grid gives the four-slice one. One CLI, three sides
# alternating, three rounds, W4A16 uniform, qwen3 and gpt-oss at one token.
source bench/device.sh && dev_init two-slices
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bt --target fp4moe_cli -j16) > "$R/cmake.log" 2>&1
el "cli build rc=$?"
CLI=/tmp/bt/src/cli/fp4moe
for r in 1 2 3; do
  for side in main gemm1 gemm2; do
    v=$side; [ $side = main ] && v=
    FP4MOE_DIAG_TWO_SLICES=$v timeout 60 $CLI bench --shapes qwen3-30b-a3b,gpt-oss-120b --tokens 1 --skewed off \
      --kernels off --mem-gib 16 --json "$R/$side-r$r.json" > "$R/$side-r$r.txt" 2>&1
    el "$side r$r rc=$?"
  done
done
for side in gemm1 gemm2; do
  python3 bench/ab.py --compare "$R/main-r1.json,$R/main-r2.json,$R/main-r3.json" \
    "$R/$side-r1.json,$R/$side-r2.json,$R/$side-r3.json" > "$R/ab-$side.txt" 2>&1
  echo "== main -> $side"; grep -v '^|---\|^| shape' "$R/ab-$side.txt" | cut -d'|' -f2-9
done
FP4MOE_DIAG_TWO_SLICES=gemm2 timeout 60 $CLI bench --shapes qwen3-30b-a3b --tokens 1 --skewed off --kernels list \
  --mem-gib 16 > "$R/kernels-gemm2.txt" 2>&1
el end
