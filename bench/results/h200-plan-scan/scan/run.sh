#!/usr/bin/env bash
# wt: the ballot grouping + one block scan of a 4-field struct in the plan; dg: main + FP4MOE_DIAG_PLAN2 (plan launched twice)
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
P=$PWD/.ab/p2
for v in dg wt; do rm -rf /tmp/$v; mkdir -p /tmp/$v; done
tar -c --exclude=./bench/results --exclude=./.ab --exclude=./.git . | tar -x -C /tmp/dg
tar -c --exclude=./bench/results --exclude=./.ab --exclude=./.git . | tar -x -C /tmp/wt
(cd /tmp/dg && patch -R -p1 < $P/wt.patch && patch -p1 < $P/diag.patch) || exit 1
grep -c FP4MOE_DIAG_PLAN2 /tmp/dg/src/cuda/moe/cuda_layer.cu; grep -c ExpertSums /tmp/wt/src/cuda/routing/plan.cu
bld() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=7 timeout 280 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
bld /tmp/dg dg & bld /tmp/wt wt &
(cd /tmp/wt && cmake -S . -B /tmp/bt -G Ninja -DCMAKE_BUILD_TYPE=Release -DFP4MOE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a > $R/cmake.log 2>&1 && cmake --build /tmp/bt --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests -j4 >> $R/cmake.log 2>&1); el "tests build rc=$?"
wait; el builds
timeout 60 /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 120 compute-sanitizer --tool memcheck /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-memcheck.log 2>&1; el "memcheck rc=$?"
timeout 120 compute-sanitizer --tool racecheck /tmp/bt/tests/cuda/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-racecheck.log 2>&1; el "racecheck rc=$?"
timeout 150 /tmp/bt/tests/cuda/fp4moe_gpu_layer_tests > $R/test-gpu_layer.log 2>&1; el "layer tests rc=$?"
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log; grep -H "ERROR SUMMARY\|RACECHECK SUMMARY" $R/san-*.log
runm() { local mod=$1 name=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 8,64,512,4096,16384 --skewed off --no-peer --shapes qwen3-30b-a3b,deepseek-v3"
for r in 1 2; do runm dg m-$r $AB; FP4MOE_DIAG_PLAN2=1 runm dg d-$r $AB; runm wt w-$r $AB; done
el end
