#!/usr/bin/env bash
# Forty-fourth session, call 2: the six official commands (bench/results/README.md) on main 13352e4,
# whose kernels are 5a0dc64's (the W4A16 epilogues' sigmoid and the quantization kernels changed since
# the top-level tables' main 4763648), and qwen3's prefill rows twice more per mode.
source bench/device.sh && dev_init official-44
dev_module head . 16
dev_official /tmp/mod-head
for r in 1 2; do
  dev_bench q-w4a16-$r /tmp/mod-head --shapes qwen3-30b-a3b --modes w4a16 --tokens 16384 --skewed off
  dev_bench q-w4a4-$r /tmp/mod-head --shapes qwen3-30b-a3b --modes w4a4 --tokens 16384 --skewed off
  dev_bench q-w4a4cal-$r /tmp/mod-head --shapes qwen3-30b-a3b --modes w4a4 --w4a4-scales calibrated --tokens 16384 --skewed off
done
grep -H "qwen3.*| 16384 |" "$R"/q-*/*.md | cut -d'|' -f1-4,7,8,15,17
dev_results
