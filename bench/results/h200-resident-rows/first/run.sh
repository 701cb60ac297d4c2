#!/usr/bin/env bash
# Session 26, call 1: resident token rows for K slices of any length (K-split tiles) against main 596e511; GPU tests.
export PYTHONUNBUFFERED=1 R=/tmp/R1
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/mn /tmp/mod-mn /tmp/mod-rs && mkdir /tmp/mn && tar -c --exclude=./.ab --exclude=./bench/results . | tar -x -C /tmp/mn && (cd /tmp/mn && patch -R -p1 -s < $OLDPWD/.ab/resident-rows.patch) && echo "main tree ok"
(cd /tmp/mn && CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-mn -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-mn . > $R/build-mn.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] main build rc=$?") &
(CMAKE_BUILD_PARALLEL_LEVEL=5 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-rs -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-rs . > $R/build-rs.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] resident build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j6 >> $R/cmake.log 2>&1); el "tests build rc=$?"
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 100 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16,w4a4 --tokens 1,2,4 --skewed off --no-peer"
for r in 1 2; do runm mn-$r /tmp/mod-mn $AB; runm rs-$r /tmp/mod-rs $AB; done
python3 bench/ab.py --compare $R/mn-1/nvidia-h200.json,$R/mn-2/nvidia-h200.json $R/rs-1/nvidia-h200.json,$R/rs-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 30 /tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 170 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
(cd tests/python && PYTHONPATH=/tmp/mod-rs timeout 90 python3 -m pytest -q -rs test_gpu.py > $R/test-python.log 2>&1; tail -1 $R/test-python.log); el python
runm official-w4a16-decode /tmp/mod-rs --modes w4a16 --tokens 1,8,64,512
timeout 100 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*KSplitTiles*' > $R/san-racecheck.log 2>&1; el "racecheck rc=$?"; tail -3 $R/san-racecheck.log
el end
