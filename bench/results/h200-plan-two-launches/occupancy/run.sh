#!/usr/bin/env bash
# Session 21, call 8: the occupancy tests (9c3d3fd) on main's kernels and on f21bc17's (the register regression).
export R=/tmp/R
rm -rf $R; mkdir -p $R
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip .ab/g8/*.gz; chmod +x .ab/g8/*
timeout 60 .ab/g8/main_kernel_tests > $R/test-gpu_kernel-main.log 2>&1; el "main kernel tests rc=$?"
timeout 60 .ab/g8/reg_kernel_tests --gtest_filter='GpuOccupancy.*' > $R/test-occupancy-f21bc17.log 2>&1; el "f21bc17 occupancy tests rc=$?"
grep -hE "^\[  (PASSED|FAILED)|FAILED|tests? from .* ran|Expected|Which is|gemm|  Actual|OK \]|SKIP" $R/*.log | head -40
el end
