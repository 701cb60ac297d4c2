#!/usr/bin/env bash
# Session 30, call 6: the 128-row 8-token tile from 4.5 rows per expert on Hopper (this call's
# tree: table rows {4.5, kSmallBatchTile}, {5.0, kSmallBatchTileTwoMTiles}, {6.0, the same})
# against main 130dfbe's table from 5 rows (its src/cuda/moe/dispatch.h, which the call carried as
# dispatch-main.h), at 4.75 and 5 rows, both routings, W4A16, two alternating rounds; dispatch
# tests and EdgeCases on the tree.
export PYTHONUNBUFFERED=1 R=/tmp/R6
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
D=bench/results/h200-t64-tiles/call6
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r $(ls -A | grep -v "^bench$\|^\.git$") /tmp/old/ && cp $D/dispatch-main.h /tmp/old/src/cuda/moe/dispatch.h
(cd /tmp/old && CMAKE_BUILD_PARALLEL_LEVEL=6 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-old -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-old . > $R/build-old.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] old build rc=$?") &
(CMAKE_BUILD_PARALLEL_LEVEL=6 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-new -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-new . > $R/build-new.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] new build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j4 >> $R/cmake.log 2>&1); el "tests build rc=$?"
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 100 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
one() {  # tag module round
  runm $1-$3-q $2 --shapes qwen3-30b-a3b --tokens 76,80 $C
  runm $1-$3-g $2 --shapes gpt-oss-120b,deepseek-v3 --tokens 152,160 $C
  runm $1-$3-d $2 --shapes deepseek-v4-flash --tokens 203,213 $C
}
C="--modes w4a16 --no-peer --skewed on"
for r in 1 2; do one m /tmp/mod-old $r; one n /tmp/mod-new $r; done
for s in q g d; do python3 bench/ab.py --compare $R/m-1-$s/nvidia-h200.json,$R/m-2-$s/nvidia-h200.json $R/n-1-$s/nvidia-h200.json,$R/n-2-$s/nvidia-h200.json; done > $R/ab.txt 2>&1; grep -v "^|---\|^| shape" $R/ab.txt
timeout 30 /tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*EdgeCases*:*BenchmarkShapes*' > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
rm -f $R/build-*.log $R/cmake.log; el end
