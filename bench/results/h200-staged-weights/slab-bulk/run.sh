#!/usr/bin/env bash
# Session 24, call 8: each warp's weights for its whole K slice by bulk copies (TMA engine) into a
# shared-memory slab (wip/slab-weights), forced at qwen3 1-2 tokens against the table's tile forced.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-slab -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-slab . > $R/build.log 2>&1; el "module build rc=$?"
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-slab timeout 100 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
Q="--modes w4a16 --tokens 1,2 --skewed off --shapes qwen3-30b-a3b"
runm check $Q --gemm mma8-r64-w4-s8-d0-k4
grep -E "^\| " $R/check/*.md | cut -d'|' -f2-8,17-18; tail -3 $R/check.out
for r in 1 2 3; do runm t-$r $Q --no-peer --gemm mma8-r64-w4-s8-d4-k4; runm s-$r $Q --no-peer --gemm mma8-r64-w4-s8-d0-k4; done
python3 bench/ab.py --compare $R/t-1/nvidia-h200.json,$R/t-2/nvidia-h200.json,$R/t-3/nvidia-h200.json $R/s-1/nvidia-h200.json,$R/s-2/nvidia-h200.json,$R/s-3/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
el end
