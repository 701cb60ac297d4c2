#!/usr/bin/env bash
# Fifty-third session, call 4: token rows copied once (run_resident) on the unsplit one-m-tile 8-token tile too,
# which runs both GEMMs at 8-64 tokens. Three CLIs carried in build-ab: main 48b6d41 (base), the resident region
# of the stages' 64 row steps (8 KB: qwen3's GEMM 2 to 5 rows a tile, GEMM 1 to 2; fp4moe-a) and of 192 (24 KB:
# qwen3's GEMM 1 to 6 rows; fp4moe-b), alternating, three rounds, W4A16 uniform; then the GPU tests of this tree
# (the 192 form).
source bench/device.sh && dev_init resident
tar -xJf build-ab/clis.tar.xz -C build-ab  # the three CLIs, compressed to travel
ARGS="--shapes qwen3-30b-a3b,gpt-oss-120b,deepseek-v4-flash --tokens 1,8,16,32,64 --skewed off --kernels off --mem-gib 16"
for r in 1 2 3; do
  for side in base a b; do
    timeout 120 build-ab/fp4moe-$side bench $ARGS --json "$R/$side-r$r.json" > "$R/$side-r$r.txt" 2>&1
    el "$side r$r rc=$?"
  done
done
for side in a b; do
  python3 bench/ab.py --compare "$R/base-r1.json,$R/base-r2.json,$R/base-r3.json" \
    "$R/$side-r1.json,$R/$side-r2.json,$R/$side-r3.json" > "$R/ab-$side.txt" 2>&1
  echo "== base -> $side"; grep -v '^|---\|^| shape' "$R/ab-$side.txt" | cut -d'|' -f2,4,6-9
done
el ab
dev_gpu_test 400
dev_results
