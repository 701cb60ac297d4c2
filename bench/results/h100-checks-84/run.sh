#!/usr/bin/env bash
# Not yet run: the GPU test command on main, owed since 9adb4d95 (the nine CLI GPU tests have not run since), from
# the build packed on the CPU machine (tools/carried-gpu-tests.sh pack; build-ab/gpu-tests.tar.xz, sha256
# e0fd01d4..., packed at 1a3ac23e, whose source and tests main has not changed since). About 150 s of commands.
# Repack first if src/, include/ or tests/ moved: tools/carried-gpu-tests.sh pack BUILD build-ab/gpu-tests.tar.xz.
set -uo pipefail
source bench/device.sh && dev_init checks-84
dev_gpu_test 400 build-ab/gpu-tests.tar.xz
dev_results
