#!/usr/bin/env bash
# Seventy-second session, H100: the GPU test command (tools/gpu-test.sh: CTest's gpu label, then memcheck and
# racecheck) on main 382e99f, whose combine became two kernels in 4b25afe after the last full run (d5192be); the
# module built beside it, the Python GPU tests, then the three official decode tables (e1bb216's are the standing
# ones; the combine's plain form runs at 8-512 tokens wherever y leaves L2).
source bench/device.sh && dev_init checks-72
dev_module head . 8 &          # CPU work, beside the tests' GPU phases
dev_gpu_test 400
wait
dev_pytest /tmp/mod-head
dev_official /tmp/mod-head "w4a16 w4a4cal w4a4" decode
grep -h "| [18] |\|| 512 |" "$R"/official-*-decode/*.md 2>/dev/null | grep qwen3 | cut -d'|' -f2-9
dev_results
