#!/usr/bin/env bash
# Sixty-second session, H100: how far from #7's 1.15 line qwen3's 16384-token rows are beyond one run's noise.
# `../h100-checks-62/` put the calibrated W4A4 layer at 1.155x the peer's GEMMs (12 us over the line), W4A16 at
# 1.11x and dynamic W4A4 at 1.26x. Three rounds of the three modes, alternating, each with its peer in the same run.
source bench/device.sh && dev_init q16384
dev_module head . 16
for round in 1 2 3; do
  for mode in w4a16 w4a4cal w4a4; do
    args="--modes ${mode%cal}"
    [ "$mode" = w4a4cal ] && args+=" --w4a4-scales calibrated"
    dev_bench "$mode-r$round" /tmp/mod-head --shapes qwen3-30b-a3b --tokens 16384 --skewed off $args
    grep -H "| 16384 |" "$R/$mode-r$round"/*.md | cut -d'|' -f3,4,7,8,15,17
  done
done
el end
