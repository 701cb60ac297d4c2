#!/usr/bin/env bash
# Session 30, call 5: the 16-token tile's band against the 32-token two-CTA wgmma tile (the table:
# from 10 rows per expert), at 8 and 9 rows on every shape, W4A16, both routings: the table
# against wgmma32-r256-w8-s8-c2 forced (whose batches have no large tiles in the table either),
# two alternating rounds; main 22c5d3d.
export PYTHONUNBUFFERED=1 R=/tmp/R5
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-5 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-5 . > $R/build.log 2>&1; el "module build rc=$?"
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-5 timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
one() {  # config round
  runm $1-$2-q --shapes qwen3-30b-a3b --tokens 128,144 $C
  runm $1-$2-g --shapes gpt-oss-120b,deepseek-v3 --tokens 256,288 $C
  runm $1-$2-d --shapes deepseek-v4-flash --tokens 341,384 $C
}
C="--modes w4a16 --no-peer --skewed on"
for r in 1 2; do one t $r; FP4MOE_GEMM=wgmma32-r256-w8-s8-c2 one w $r; done
for s in q g d; do python3 bench/ab.py --compare $R/t-1-$s/nvidia-h200.json,$R/t-2-$s/nvidia-h200.json $R/w-1-$s/nvidia-h200.json,$R/w-2-$s/nvidia-h200.json; done > $R/ab.txt 2>&1; grep -v "^|---\|^| shape" $R/ab.txt
grep -h "Error" $R/*.out | head -5
rm -f $R/build.log; el end
