#!/usr/bin/env bash
# Session 24, call 6: 32-row K-split decode tiles (more, smaller CTAs: an even share of bytes per SM),
# forced against the table at 1-2 tokens; their layer tests.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-r32 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-r32 . > $R/build.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_layer_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
timeout 120 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.EveryCompiledTileShape:GpuLayer.EdgeCases*' > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-r32 timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 1,2 --skewed off --no-peer"
for r in 1 2; do runm t-$r $AB; runm k4-$r $AB --gemm mma8-r32-w2-s8-d4-k4; runm k2-$r $AB --gemm mma8-r32-w2-s16-d8-k2; done
python3 bench/ab.py --compare $R/t-1/nvidia-h200.json,$R/t-2/nvidia-h200.json $R/k4-1/nvidia-h200.json,$R/k4-2/nvidia-h200.json > $R/ab-k4.txt 2>&1; cat $R/ab-k4.txt
python3 bench/ab.py --compare $R/t-1/nvidia-h200.json,$R/t-2/nvidia-h200.json $R/k2-1/nvidia-h200.json,$R/k2-2/nvidia-h200.json > $R/ab-k2.txt 2>&1; cat $R/ab-k2.txt
el end
