#!/usr/bin/env bash
# Fifty-fourth session, call 3: the two-m-tile decode tile removed (its kernels no longer compiled). The GPU tests of
# the tree (tools/gpu-test.sh) with the Python module built beside them, then the official W4A16 decode command
# (bench/results/README.md) and the Python GPU tests against that module.
source bench/device.sh && dev_init landing
dev_module head . 6 &
dev_gpu_test 420
wait
dev_bench official-w4a16-decode /tmp/mod-head --modes w4a16 --tokens 1,8,64,512
grep -A30 '^shape' "$R/official-w4a16-decode.out" | cut -c1-150
dev_pytest /tmp/mod-head
dev_results
