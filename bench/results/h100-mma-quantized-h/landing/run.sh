#!/usr/bin/env bash
# The checks for landing wip/mma-quantized-h, if run.sh finds it faster: the GPU test command (CTest's gpu label,
# memcheck and racecheck), the Python GPU tests, and the official W4A16 and calibrated W4A4 decode commands with the
# branch's module (about 400 s; h100-checks-64/run.sh took 357 s for as much). W4A16's kernels are SASS-identical to
# main's, so its table stands for main too (owed since 3e4cfd1).
source bench/device.sh && dev_init mma-quantized-h-landing
dev_checks "w4a16 w4a4cal" decode
dev_results
