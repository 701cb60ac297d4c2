#!/usr/bin/env bash
# Eighteenth session, call 6: main e35d900 (the working tree: two producer warpgroups in the 128-token tile). The
# 64-token tile's band (44-48 rows per expert) against the 128-token tile forced, W4A16, two rounds. carry [".ab/next94.sh"].
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 200 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; el "build rc=$?"
run() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-wt timeout 60 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>$R/$name.err; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
for r in 1 2; do for g in table w128; do
  f=(); [ $g = w128 ] && f=(--gemm wgmma128-r256-w8-s8)
  run q-$g-$r "${f[@]}" --modes w4a16 --shapes qwen3-30b-a3b --tokens 720,768 --no-peer --target-ms 40
  run l-$g-$r "${f[@]}" --modes w4a16 --shapes gpt-oss-120b,deepseek-v3 --tokens 1440,1536 --no-peer --target-ms 40
  run d-$g-$r "${f[@]}" --modes w4a16 --shapes deepseek-v4-flash --tokens 1920,2048 --no-peer --target-ms 40
done; done
el end
