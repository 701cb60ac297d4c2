#!/usr/bin/env bash
# Session 25, call 1: the decode kernels' cluster combine: GPU tests, memcheck/racecheck of its test, on/off A/B.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-cc -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-cc . > $R/build-cc.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] module build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
/tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 200 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.ClusterCombine*' > $R/test-cluster.log 2>&1; el "cluster test rc=$?"
grep -E "rel_error|FAILED|OK \]|error" $R/test-cluster.log | head -30
wait; el builds
runm() { local name=$1; shift; s=$(date +%s); PYTHONPATH=/tmp/mod-cc timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16,w4a4 --tokens 1,2 --skewed off --no-peer"
for r in 1 2 3; do runm off-$r $AB --cluster-combine off; runm on-$r $AB; done
python3 bench/ab.py --compare $R/off-1/nvidia-h200.json,$R/off-2/nvidia-h200.json,$R/off-3/nvidia-h200.json $R/on-1/nvidia-h200.json,$R/on-2/nvidia-h200.json,$R/on-3/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 200 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
(cd tests/python && PYTHONPATH=/tmp/mod-cc timeout 120 python3 -m pytest -q -rs test_gpu.py > $R/test-python.log 2>&1; tail -3 $R/test-python.log); el python
timeout 150 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.ClusterCombine*:GpuLayer.EdgeCases' > $R/san-memcheck.log 2>&1; el "memcheck rc=$?"; tail -3 $R/san-memcheck.log
timeout 120 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='GpuLayer.ClusterCombine*' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; tail -3 $R/san-racecheck.log
el end
