#!/usr/bin/env bash
# Sixty-fourth session, H100: the GPU test command (tools/gpu-test.sh: CTest's gpu label, then memcheck and racecheck)
# on main 3e4cfd1+ (e7461d0's grouped GEMM 2 order and 3e4cfd1's own-tile wait had run only their carried layer
# tests), the Python GPU tests, then the two official W4A4 decode commands, with the module built here.
source bench/device.sh && dev_init checks-64
dev_checks "w4a4 w4a4cal" decode
dev_results
