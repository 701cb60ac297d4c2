#!/usr/bin/env bash
# Forty-second session, call 3: the six official commands (bench/results/README.md) on main 2db5e18
# (the device codecs), then qwen3's prefill rows twice more in each mode for the spread of the ratios.
source bench/device.sh && dev_init official-42
dev_module head . 16
export PYTHONPATH=/tmp/mod-head
B="timeout 300 python3 bench/bench_moe.py"
$B --modes w4a16 --tokens 4096,16384 --skewed off --out-dir $R/official-w4a16-prefill > $R/official.out 2>&1; el p1
$B --modes w4a4 --tokens 4096,16384 --skewed off --out-dir $R/official-w4a4-prefill >> $R/official.out 2>&1; el p2
$B --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off --out-dir $R/official-w4a4cal-prefill \
  >> $R/official.out 2>&1; el p3
$B --modes w4a16 --tokens 1,8,64,512 --out-dir $R/official-w4a16-decode >> $R/official.out 2>&1; el d1
$B --modes w4a4 --tokens 1,8,64,512 --out-dir $R/official-w4a4-decode >> $R/official.out 2>&1; el d2
$B --modes w4a4 --w4a4-scales calibrated --tokens 1,8,64,512 --out-dir $R/official-w4a4cal-decode >> $R/official.out 2>&1
el d3
Q="timeout 120 python3 bench/bench_moe.py --shapes qwen3-30b-a3b --tokens 4096,16384 --skewed off"
for r in 1 2; do
  $Q --modes w4a4 --out-dir $R/q-w4a4-$r > /dev/null 2>&1
  $Q --modes w4a4 --w4a4-scales calibrated --out-dir $R/q-w4a4cal-$r > /dev/null 2>&1
  $Q --modes w4a16 --out-dir $R/q-w4a16-$r > /dev/null 2>&1
done
for d in $R/official-*-prefill $R/q-*; do echo "${d##*/}"; grep -h "qwen3.*16384" $d/*.md; done
el end
