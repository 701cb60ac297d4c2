#!/usr/bin/env bash
# Call 2: which GEMM moved. main 48b6d41 (base) against form a (the stages' 64 row steps), `--kernels list`,
# two alternating rounds, deepseek-v4-flash (8 tokens: -3.8% in call 1) and qwen3 (8 and 64 tokens: +2.5% at 64).
source bench/device.sh && dev_init resident2
tar -xJf build-ab/clis.tar.xz -C build-ab
ARGS="--shapes deepseek-v4-flash,qwen3-30b-a3b --tokens 8,64 --skewed off --kernels list --mem-gib 16"
for r in 1 2; do
  for side in base a; do
    timeout 100 build-ab/fp4moe-$side bench $ARGS --json "$R/$side-r$r.json" > "$R/$side-r$r.txt" 2>&1
    el "$side r$r rc=$?"
  done
done
grep -h -A8 "deepseek-v4-flash.*  8 \|^deepseek" "$R"/base-r2.txt "$R"/a-r2.txt | head -60
el end
