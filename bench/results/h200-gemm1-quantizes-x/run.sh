#!/usr/bin/env bash
# Fifty-fourth session, call 1: W4A4 decode batches with calibrated scales, x fake-quantized by the decode GEMM 1 in
# shared memory (moe/dispatch.h's gemm1_quantizes_x) instead of by a kernel before it. The GPU tests of the tree
# first (tools/gpu-test.sh, which also builds the CLI), then one CLI with the rule off (FP4MOE_GEMM1_QUANTIZES_X=0)
# and on, alternating, three rounds, at 1 and 2 tokens (the decode kernels' batches) on every shape; W4A16 once
# beside them; the per-kernel times of one round each (--kernels list).
source bench/device.sh && dev_init quantize-x
dev_gpu_test 420
CLI=/tmp/build-gpu/src/cli/fp4moe
ARGS="--tokens 1,2 --skewed off --mode w4a4 --scales calibrated --mem-gib 16"
for r in 1 2 3; do
  for side in off on; do
    v=0; [ $side = on ] && v=1
    FP4MOE_GEMM1_QUANTIZES_X=$v timeout 120 $CLI bench $ARGS --kernels off --json "$R/$side-r$r.json" \
      > "$R/$side-r$r.txt" 2>&1
    el "$side r$r rc=$?"
  done
done
python3 bench/ab.py --compare "$R/off-r1.json,$R/off-r2.json,$R/off-r3.json" "$R/on-r1.json,$R/on-r2.json,$R/on-r3.json" \
  > "$R/ab.txt" 2>&1
grep -v '^|---\|^| shape' "$R/ab.txt" | cut -d'|' -f2-9
timeout 60 $CLI bench --tokens 1,2 --skewed off --kernels off --mem-gib 16 --json "$R/w4a16.json" > "$R/w4a16.txt" 2>&1
el "w4a16 rc=$?"
for side in off on; do
  v=0; [ $side = on ] && v=1
  FP4MOE_GEMM1_QUANTIZES_X=$v timeout 60 $CLI bench --shapes qwen3-30b-a3b,gpt-oss-120b --tokens 1 --mode w4a4 \
    --scales calibrated --mem-gib 16 --kernels list > "$R/kernels-$side.txt" 2>&1
done
dev_results
