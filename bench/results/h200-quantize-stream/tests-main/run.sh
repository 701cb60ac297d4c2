#!/usr/bin/env bash
# Nineteenth session, call 9: wip/quantize-tests: main's quantization kernels against the quantize tests at
# prefill sizes (FP32 intermediate of 318,500 blocks, amax of 8.8 million elements with NaNs first and last);
# the kernel tests and memcheck of them. carry [".ab/next105.sh", ".ab/g82"].
export R=/tmp/R
rm -rf $R; mkdir -p $R
N=.ab/g82
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 ))s] $*"; tar -czf $OUT/r.tgz -C $R . 2>/dev/null; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
gunzip $N/bin/*.gz; chmod +x $N/bin/*
timeout 60 $N/bin/fp4moe_gpu_kernel_tests > $R/test-gpu_kernel.log 2>&1; el "kernel tests rc=$?"
grep -hE "^\[  (PASSED|FAILED)|FAILED|OK \] GpuQuantize" $R/test-gpu_kernel.log
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 3 $N/bin/fp4moe_gpu_kernel_tests --gtest_filter='GpuQuantize.*' > $R/san-quantize-memcheck.log 2>&1; el "memcheck rc=$?"; grep -h "ERROR SUMMARY" $R/san-quantize-memcheck.log
el end
