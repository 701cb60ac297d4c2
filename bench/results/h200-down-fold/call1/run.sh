#!/usr/bin/env bash
# Session 29, call 3: the decode kernels' fold (W4A16: GEMM 2 inside GEMM 1's CTAs, then a kernel
# summing the partials). GPU tests, then FP4MOE_FOLD_DOWN=0 against on, one build, two alternating
# rounds, W4A16 at 1-4 tokens; memcheck of EdgeCases.
export PYTHONUNBUFFERED=1 R=/tmp/R3
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R/nvidia-smi.txt
rm -rf /tmp/mod-fd
(CMAKE_BUILD_PARALLEL_LEVEL=8 timeout 300 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-fd -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-fd . > $R/build-fd.log 2>&1; echo "[$(( $(date +%s) - t0 ))s] fd build rc=$?") &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cuda_dispatch_tests -j8 >> $R/cmake.log 2>&1); el "tests build rc=$?"
timeout 90 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*FoldedDown*' > $R/test-fold.log 2>&1; el "fold test rc=$?"
grep -E "Failure|rel_error|PASSED|FAILED" $R/test-fold.log | head -30
wait; el builds
runm() { local name=$1 mod=$2; shift 2; s=$(date +%s); PYTHONPATH=$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
D="--modes w4a16 --tokens 1,2,3,4 --no-peer"
for r in 1 2; do FP4MOE_FOLD_DOWN=0 runm d-off-$r /tmp/mod-fd $D; runm d-on-$r /tmp/mod-fd $D; done
python3 bench/ab.py --compare $R/d-off-1/nvidia-h200.json,$R/d-off-2/nvidia-h200.json $R/d-on-1/nvidia-h200.json,$R/d-on-2/nvidia-h200.json > $R/ab.txt 2>&1; cat $R/ab.txt
grep -h "Error" $R/d-*.out | head -5
timeout 30 /tmp/bt/tests/cuda/fp4moe_cuda_dispatch_tests > $R/test-dispatch.log 2>&1; el "dispatch tests rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 150 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='-*FoldedDown*' > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
timeout 120 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests --gtest_filter='*EdgeCases*' > $R/memcheck.log 2>&1; el "memcheck rc=$?"; tail -2 $R/memcheck.log
el end
