#!/usr/bin/env bash
# Session 27, call 5: qwen3 small batches, the table against the 128-row 8-token tile forced (GEMM 1
# already takes it at 8 tokens; forcing moves GEMM 2 to it), main 865df1e.
export PYTHONUNBUFFERED=1 R=/tmp/R5
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/mod-hd
CMAKE_BUILD_PARALLEL_LEVEL=12 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-hd -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-hd . > $R/build-hd.log 2>&1; el "build rc=$?"
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-hd timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
Q="--modes w4a16,w4a4 --tokens 8,16 --shapes qwen3-30b-a3b --skewed off --no-peer --target-ms 60"
for r in 1 2; do runm tb-$r $Q; runm fr-$r $Q --gemm mma8-r128-w4-s8-d4; done
python3 bench/ab.py --compare $R/tb-1/nvidia-h200.json,$R/tb-2/nvidia-h200.json $R/fr-1/nvidia-h200.json,$R/fr-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
el end
