#!/usr/bin/env bash
# Session 32, call 3: the official prefill tables (W4A16, W4A4 calibrated, W4A4 dynamic; the peer in the
# run) and the Python GPU tests on the tree with the overlapped consumer loop in the one-CTA tiles.
source bench/device.sh && dev_init call3
dev_module new . 14; el builds
dev_bench official-w4a16-prefill /tmp/mod-new --modes w4a16 --tokens 4096,16384 --skewed off
dev_bench official-w4a4cal-prefill /tmp/mod-new --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off
dev_bench official-w4a4-prefill /tmp/mod-new --modes w4a4 --tokens 4096,16384 --skewed off
dev_pytest /tmp/mod-new
grep -h "qwen3-30b-a3b" $R/official-*prefill/*.md | cut -c1-250
dev_results
