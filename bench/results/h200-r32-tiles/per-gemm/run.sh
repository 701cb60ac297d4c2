#!/usr/bin/env bash
# Session 24, call 7: the 32-row four-slice tile per GEMM (FP4MOE_R32: 1 GEMM 1, 2 GEMM 2, 3 both).
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-r32 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-r32 . > $R/build.log 2>&1; el "module build rc=$?"
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-r32 timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 1,2 --skewed off --no-peer"
for r in 1 2; do for v in 0 1 2; do FP4MOE_R32=$v runm v$v-$r $AB; done; done
for v in 1 2; do python3 bench/ab.py --compare $R/v0-1/nvidia-h200.json,$R/v0-2/nvidia-h200.json $R/v$v-1/nvidia-h200.json,$R/v$v-2/nvidia-h200.json > $R/ab-v$v.txt 2>&1; cat $R/ab-v$v.txt; done
el end
