#!/usr/bin/env bash
# Seventy-first session, H100: the GPU test command (tools/gpu-test.sh: CTest's gpu label, then memcheck and racecheck)
# on main d5192be (e1bb216's kernels; its host change had run only its branch's carried tests), the Python GPU tests,
# then the three official prefill commands (#7's tables were ba0182a's), with the module built here.
source bench/device.sh && dev_init checks-71
dev_checks "w4a16 w4a4 w4a4cal" prefill
dev_results
