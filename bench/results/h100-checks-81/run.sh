#!/usr/bin/env bash
# Eighty-first session, H100: the GPU test command (tools/gpu-test.sh: CTest's gpu label, then memcheck and racecheck)
# on main 9adb4d95, built on the device. Since the last full run (ece327a, h100-checks-76/) only host dispatch rules
# (GEMM 1 held beside the tile hand-off: 38feefe6, 73185f54, 9adb4d95) and tests changed; the kernel and layer test
# binaries of 7c73d248 and 73185f54 passed in between (h100-handoff-gemm1-lead/call2/, landing/).
source bench/device.sh && dev_init checks-81
dev_gpu_test 480
dev_results
el done
