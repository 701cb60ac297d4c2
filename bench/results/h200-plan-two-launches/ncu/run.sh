#!/usr/bin/env bash
# Session 21, call 4: Nsight Compute of the two-launch grid plan (f21bc17) on the plan test's benchmark sizes;
# the official W4A16 decode table of f21bc17 on this call's machine.
export PYTHONUNBUFFERED=1 R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g3
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
which ncu nsys
gunzip $N/bin/*.gz; chmod +x $N/bin/*
(CMAKE_BUILD_PARALLEL_LEVEL=14 timeout 250 python3 -m pip install -q --no-build-isolation --no-deps --no-index --target /tmp/mod-wt -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90a -C build-dir=/tmp/bg-wt . > $R/build-wt.log 2>&1; echo "build wt rc=$?") &
timeout 200 ncu --kernel-name regex:"plan_(count|place)" --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis $N/bin/fp4moe_gpu_kernel_tests --gtest_filter='GpuRoutingPlan.GridPlanAtBenchmarkSizes' > $R/ncu-plan.txt 2>&1; el "ncu rc=$?"
grep -E "plan_(count|place)_kernel|Duration|Elapsed Cycles|Grid Size|Warp Cycles Per Issued|Stall" $R/ncu-plan.txt | head -60
wait; el build
runm() { local mod=$1 name=$2; shift 2; s=$(date +%s); PYTHONPATH=/tmp/mod-$mod timeout 150 python3 bench/bench_moe.py --out-dir $R/$name "$@" > $R/$name.out 2>&1; el "$name rc=$? in $(( $(date +%s) - s )) s"; }
runm wt official-w4a16-decode --modes w4a16 --tokens 1,8,64,512
el end
