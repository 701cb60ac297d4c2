#!/usr/bin/env bash
# Thirty-seventh session, call 6: the project's whole GPU test command (tools/gpu-test.sh: the CTest label
# `gpu`, then compute-sanitizer memcheck and racecheck, whose BenchmarkShapesWgmmaKernels now runs GEMM 1
# on sorted rows for three of its four shapes) on main 0b93d8d.
export LOG_DIR=$OUT BUILD_DIR=/tmp/build-gpu
s=$(date +%s)
timeout 560 tools/gpu-test.sh > "$OUT/gpu-test.out" 2>&1
echo "rc=$? in $(($(date +%s) - s)) s" | tee -a "$OUT/gpu-test.out"
tail -20 "$OUT/gpu-test.out"
