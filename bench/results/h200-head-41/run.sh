#!/usr/bin/env bash
# Forty-first session, calls 3-6, on the machine of call 2 (h200-peer-cost/call2/, kept warm between
# calls; the module built there from main 4763648): the six official commands (bench/results/README.md),
# then qwen3's prefill rows twice more in each mode to see the spread of the peer ratios.
source bench/device.sh && dev_init official-41
[ -d /tmp/mod-head/fp4moe ] || dev_module head . 16
export PYTHONPATH=/tmp/mod-head
B="timeout 300 python3 bench/bench_moe.py"
$B --modes w4a16 --tokens 1,8,64,512 --out-dir $R/official-w4a16-decode > $R/official.out 2>&1
$B --modes w4a4 --tokens 1,8,64,512 --out-dir $R/official-w4a4-decode > $R/official-w4a4.out 2>&1
$B --modes w4a4 --w4a4-scales calibrated --tokens 1,8,64,512 --out-dir $R/official-w4a4cal-decode > $R/official-w4a4cal.out 2>&1
$B --modes w4a16 --tokens 4096,16384 --skewed off --out-dir $R/official-w4a16-prefill > $R/official-prefill.out 2>&1
$B --modes w4a4 --tokens 4096,16384 --skewed off --out-dir $R/official-w4a4-prefill > $R/official-w4a4p.out 2>&1
$B --modes w4a4 --w4a4-scales calibrated --tokens 4096,16384 --skewed off --out-dir $R/official-w4a4cal-prefill \
  > $R/official-w4a4calp.out 2>&1
Q="timeout 120 python3 bench/bench_moe.py --shapes qwen3-30b-a3b --tokens 4096,16384 --skewed off"
for r in 1 2; do
  $Q --modes w4a4 --out-dir $R/q-w4a4-$r > /dev/null 2>&1
  $Q --modes w4a4 --w4a4-scales calibrated --out-dir $R/q-w4a4cal-$r > /dev/null 2>&1
  $Q --modes w4a16 --out-dir $R/q-w4a16-$r > /dev/null 2>&1
done
el end
