#!/usr/bin/env bash
# Forty-second session, call 4: qwen3's prefill rows in the three modes, twice each, with the peer, on
# main 2db5e18's kernels and whatever machine this call gets: a third sample of how far the machine
# moves the calibrated row's ratios (1.16-1.17x on the forty-first session's, 1.11-1.13x on call 2-3's).
source bench/device.sh && dev_init machine3
dev_module head . 16
export PYTHONPATH=/tmp/mod-head
Q="timeout 100 python3 bench/bench_moe.py --shapes qwen3-30b-a3b --tokens 4096,16384 --skewed off"
for r in 1 2; do
  $Q --modes w4a4 --w4a4-scales calibrated --out-dir $R/q-w4a4cal-$r > /dev/null 2>&1
  $Q --modes w4a4 --out-dir $R/q-w4a4-$r > /dev/null 2>&1
  $Q --modes w4a16 --out-dir $R/q-w4a16-$r > /dev/null 2>&1
  el round $r
done
for d in $R/q-*; do echo "${d##*/} $(grep -h '16384' $d/*.md | awk -F'|' '{print $7, $8, $15, $17}')"; done
el end
