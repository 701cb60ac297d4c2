#!/usr/bin/env bash
# Session 23, call 6: main 50c4244. qwen3 at 4-16 tokens: the table against both GEMMs forced to the
# 128-row and the 64-row 8-token tiles (GEMM 2's wave count), alternating; then the official W4A16
# decode table.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-ws -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-ws . > $R/build-ws.log 2>&1; el "module build rc=$?"
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-ws timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
A="--modes w4a16 --tokens 4,8,16 --skewed off --no-peer --shapes qwen3-30b-a3b,deepseek-v3"
for r in 1 2 3; do runm t-$r $A; runm r128-$r $A --gemm mma8-r128-w4-s8-d4; runm r64-$r $A --gemm mma8-r64-w4-s8-d4; done
j() { local p=$1; echo $R/$p-1/nvidia-h200.json,$R/$p-2/nvidia-h200.json,$R/$p-3/nvidia-h200.json; }
python3 bench/ab.py --compare $(j t) $(j r128) > $R/ab.txt 2>&1; python3 bench/ab.py --compare $(j t) $(j r64) >> $R/ab.txt 2>&1; cat $R/ab.txt
runm official-w4a16-decode --modes w4a16 --tokens 1,8,64,512
grep -E "^\| " $R/official-w4a16-decode/*.md | head -30
el end
