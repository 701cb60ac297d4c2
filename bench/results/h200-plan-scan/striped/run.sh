#!/usr/bin/env bash
# Session 22, call 6: the plan experts striped over the threads (thread t owns t, t + 512) instead of blocked (2t, 2t + 1), one scan per stripe; ws = working tree, mn = main (the patch reversed).
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
P=$PWD/.ab/p6
rm -rf /tmp/mn; mkdir -p /tmp/mn
tar -c --exclude=./bench/results --exclude=./.ab --exclude=./.git . | tar -x -C /tmp/mn
(cd /tmp/mn && patch -R -p1 < $P/st.patch) || exit 1
grep -c owned_expert src/cuda/routing/plan.cu /tmp/mn/src/cuda/routing/plan.cu
bld() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=7 timeout 280 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
bld /tmp/mn mn & bld $PWD ws &
(cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests -j4 >> $R/cmake.log 2>&1); el "tests build rc=$?"
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 120 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-memcheck.log 2>&1; el "memcheck rc=$?"
timeout 120 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-racecheck.log 2>&1; el "racecheck rc=$?"
timeout 150 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log; grep -H "ERROR SUMMARY\|RACECHECK SUMMARY" $R/san-*.log
wait; el builds
runm() { local mod=$1 name=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 8,64,512,4096,16384 --skewed off --no-peer --shapes qwen3-30b-a3b,deepseek-v3"
for r in 1 2; do runm mn m-$r $AB; runm ws w-$r $AB; done
el end
for m in mn ws; do for T in 8 64; do PYTHONPATH=/tmp/mod-$m timeout 100 ncu --kernel-name regex:"routing_plan_kernel" --launch-skip 2 --launch-count 2 --section SpeedOfLight --section LaunchStats --section WarpStateStats python3 bench/profile_one.py qwen3-30b-a3b $T --runs 4 > $R/ncu-$m-$T.txt 2>&1; el "ncu $m $T rc=$?"; done; done
grep -E "Duration|Elapsed Cycles" $R/ncu-*.txt
el end2
