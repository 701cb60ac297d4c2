#!/usr/bin/env bash
# Sixteenth session, call 3: with GEMM 2 persistent on the 48-token two-CTA tile, where is its crossover with the
# 64- and 128-token tiles on qwen3 now? main 9561e80 (the working tree) as the table and with --gemm forced.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
run() { local name=$1; shift 1; s=$(date +%s); timeout 100 python3 bench/bench_moe.py --out-dir $R/$name "$@" --fp4moe-path /tmp/mod-wt > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; el "build rc=$?"
X="--modes w4a16,w4a4 --shapes qwen3-30b-a3b --tokens 640,704,768,896,1024 --skewed off --no-peer --target-ms 40"
for r in 1 2; do run x-table-$r $X; run x-w48-$r $X --gemm wgmma48-r256-w8-s7-c2; run x-w64-$r $X --gemm wgmma64-r256-w8-s8; run x-w128-$r $X --gemm wgmma128-r256-w8-s8; done
el end
