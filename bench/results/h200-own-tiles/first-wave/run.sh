#!/usr/bin/env bash
# Session 23, call 2: GEMM 1's first wave finds its own tiles (FP4MOE_OWN_TILES), later waves read the plan. GPU tests, sanitizers on the new
# test, then one build's rule on/off in alternation, then the official W4A16 decode table with the rule.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-ws -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-ws . > $R/build-ws.log 2>&1; echo "module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
tail -5 $R/cmake.log
/tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 200 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
grep -A14 "OwnTilesAreThePlansTiles" $R/test-gpu_layer.log | head -20
timeout 120 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.OwnTiles*' > $R/san-own-memcheck.log 2>&1; el "memcheck rc=$?"
timeout 150 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.OwnTiles*' > $R/san-own-racecheck.log 2>&1; el "racecheck rc=$?"
grep -H "ERROR SUMMARY\|RACECHECK SUMMARY" $R/san-*.log
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-ws timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 4,8,16,32,64,128,256 --skewed on --no-peer"
for r in 1 2; do runm off-$r $AB --own-tiles off; runm on-$r $AB; done
python3 bench/ab.py --compare $R/off-1/nvidia-h200.json,$R/off-2/nvidia-h200.json $R/on-1/nvidia-h200.json,$R/on-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
runm w4a16-decode --modes w4a16 --tokens 1,8,64,512
grep -E "^\| " $R/w4a16-decode/*.md | head -40
el end
