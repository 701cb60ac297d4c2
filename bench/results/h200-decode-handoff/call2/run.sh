#!/usr/bin/env bash
# Session 29, call 2 (diagnostic build): the hand-off with GEMM 2 waiting for its own tile's flags
# (tile) or for every tile's (all, FP4MOE_DIAG_WAIT_ALL), against the grid wait (off), one build,
# three alternating rounds, W4A16 at one and two tokens.
export PYTHONUNBUFFERED=1 R=/tmp/R2
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/mod-ho
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-ho -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-ho . > $R/build-ho.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] ho build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_layer_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
FP4MOE_DIAG_WAIT_ALL=1 timeout 90 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*HandOff*' > $R/test-handoff-all.log 2>&1; el "hand-off test (all) rc=$?"
grep -E "Failure|PASSED|FAILED" $R/test-handoff-all.log | head -5
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
D="--modes w4a16 --tokens 1,2 --no-peer"
for r in 1 2 3; do FP4MOE_DECODE_HANDOFF=0 runm d-off-$r /tmp/mod-ho $D; runm d-tile-$r /tmp/mod-ho $D; FP4MOE_DIAG_WAIT_ALL=1 runm d-all-$r /tmp/mod-ho $D; done
J() { echo $R/d-$1-1/nvidia-h200.json,$R/d-$1-2/nvidia-h200.json,$R/d-$1-3/nvidia-h200.json; }
for v in tile all; do python3 bench/ab.py --compare $(J off) $(J $v) > $R/ab-$v.txt 2>&1; echo "== $v"; cat $R/ab-$v.txt; done
grep -h "Error" $R/d-*.out | head -5
el end
