#!/usr/bin/env bash
# Session 21, call 2: the grid plan's scan v2 (a warp per expert over contiguous chunk counts; working tree)
# against main 8ec0bc1; and the grid plan from 513 pairs (variant g512) at 1024-2048 pairs.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g2
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
mkdir -p /tmp/base /tmp/g512 && git archive HEAD | tar -x -C /tmp/base --exclude=bench/results
tar -c --exclude=./bench/results --exclude=./.ab --exclude=./.git . | tar -x -C /tmp/g512
sed -i 's/inline constexpr int kCtaPlanMaxPairs = 2048;/inline constexpr int kCtaPlanMaxPairs = 512;/' /tmp/g512/src/cuda/routing/plan.h
grep -n "kCtaPlanMaxPairs = " /tmp/g512/src/cuda/routing/plan.h
bld() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=6 timeout 280 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
bld $PWD wt & bld /tmp/base base & bld /tmp/g512 g512 &
timeout 100 $N/bin/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 120 compute-sanitizer --tool memcheck $N/bin/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-memcheck.log 2>&1; el "plan memcheck rc=$?"
timeout 120 compute-sanitizer --tool racecheck $N/bin/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-racecheck.log 2>&1; el "plan racecheck rc=$?"
for t in cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
grep -H "ERROR SUMMARY\|RACECHECK SUMMARY" $R/san-*.log
wait; el builds
runm() { local mod=$1 name=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 120 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 512,1024,4096,16384 --skewed off --no-peer"
for r in 1 2; do runm base b-$r $AB; runm wt n-$r $AB; done
SM="--modes w4a16 --tokens 128,200,256 --skewed off --no-peer"
for r in 1 2; do runm wt s-wt-$r $SM; runm g512 s-g5-$r $SM; done
runm wt official-w4a16-prefill --modes w4a16 --tokens 4096,16384 --skewed off
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
