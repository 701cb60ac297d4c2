#!/usr/bin/env bash
# Forty-third session, call 2: main at the amax change (0fa52c9 and the docs after it; the kernels of
# HEAD): the GPU tests, then the three prefill official commands (#7) and the W4A16 decode one (#6)
# on one machine, with qwen3's 16384-token ratios printed.
source bench/device.sh && dev_init head-43
dev_module head . 16
B=/tmp/mod-head
dev_bench official-w4a16-prefill $B --modes w4a16 --tokens 4096,16384 --skewed off
dev_bench official-w4a4-prefill $B --modes w4a4 --tokens 4096,16384 --skewed off
dev_bench official-w4a4cal-prefill $B --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
dev_bench official-w4a16-decode $B --modes w4a16 --tokens 1,8,64,512
grep -H "qwen3.*| 16384 |" "$R"/official-*-prefill/*.md | cut -d'|' -f1-4,7,8,15,17
dev_gpu_test 300
dev_results
