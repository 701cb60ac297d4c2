#!/usr/bin/env bash
# Session 21, call 3: the grid plan in two launches (count; scan and place in every CTA), working tree, against main 8ec0bc1.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g3
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
mkdir -p /tmp/base && git archive HEAD | tar -x -C /tmp/base --exclude=bench/results
bld() { (cd $1 && CMAKE_BUILD_PARALLEL_LEVEL=6 timeout 280 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-$2 -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-$2 . > $R/build-$2.log 2>&1; echo "build $2 rc=$?"); }
bld $PWD wt & bld /tmp/base base &
timeout 100 $N/bin/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
timeout 120 compute-sanitizer --tool memcheck $N/bin/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-memcheck.log 2>&1; el "plan memcheck rc=$?"
timeout 120 compute-sanitizer --tool racecheck $N/bin/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.*' > $R/san-plan-racecheck.log 2>&1; el "plan racecheck rc=$?"
for t in cuda_dispatch gpu_layer; do timeout 150 $N/bin/fp4moe_${t}_tests > $R/test-$t.log 2>&1; el "$t tests rc=$?"; done
grep -HE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran" $R/test-*.log
grep -H "ERROR SUMMARY\|RACECHECK SUMMARY" $R/san-*.log
wait; el builds
runm() { local mod=$1 name=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
AB="--modes w4a16 --tokens 512,1024,4096,16384 --skewed off --no-peer"
for r in 1 2; do runm base b-$r $AB; runm wt n-$r $AB; done
AB4="--modes w4a4 --tokens 512,16384 --skewed off --no-peer --shapes qwen3-30b-a3b,deepseek-v3"
for r in 1 2; do runm base b4-$r $AB4; runm wt n4-$r $AB4; done
runm wt official-w4a16-prefill --modes w4a16 --tokens 4096,16384 --skewed off
runm wt official-w4a4cal-prefill --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
runm wt official-w4a16-decode --modes w4a16 --tokens 1,8,64,512
(cd tests/python && PYTHONPATH=/tmp/mod-wt timeout 60 python3 -m pytest -q -rs test_gpu.py > $R/test-python-gpu.log 2>&1; echo "py gpu rc=$?"; tail -n 1 $R/test-python-gpu.log); el python
el end
