#!/usr/bin/env bash
# Seventy-third session, H100: where one token's time goes on today's decode kernels (the twenty-fourth session's
# timeline, h200-t1-timeline/, was on an H200 with the K-split tiles at two CTAs per SM; they hold four now). A module
# of this tree with diag.patch (per-CTA %globaltimer stamps in the decode kernels), tl_run.py on four one-token rows
# and qwen3 at two tokens, timeline.py's summary per forward; then the diagnostic module's benchmark rows against
# this tree's module, to size the stamps' cost.
source bench/device.sh && dev_init t1-timeline
F=bench/results/h100-t1-timeline
dev_variant_patch diag $F/diag.patch
dev_module diag /tmp/tree-diag 8 &
dev_module main . 8
wait
for s in qwen3-30b-a3b:1 qwen3-30b-a3b:2 gpt-oss-120b:1 deepseek-v4-flash:1; do
  shape=${s%:*}; T=${s#*:}; n=$shape-$T
  PYTHONPATH=/tmp/mod-diag timeout 120 python3 $F/tl_run.py $shape $T > $R/tl-$n.txt 2>&1; el "timeline $n rc=$?"
  python3 $F/timeline.py $R/tl-$n.txt > $R/tl-$n-summary.txt 2>&1
  sed -n '/^forward 2/,/^forward 3/p' $R/tl-$n-summary.txt | head -24
  gzip $R/tl-$n.txt
done
ROWS="--modes w4a16 --tokens 1,2 --skewed off --no-peer"
for r in 1 2; do
  PYTHONPATH=/tmp/mod-main timeout 120 python3 bench/bench_moe.py $ROWS --out-dir $R/main-r$r > $R/main-r$r.out 2>&1
  PYTHONPATH=/tmp/mod-diag timeout 120 python3 bench/bench_moe.py $ROWS --out-dir $R/diag-r$r > $R/diag-r$r.out 2>&1
  el "bench round $r"
done
python3 bench/ab.py --compare $R/main-r1/*.json,$R/main-r2/*.json $R/diag-r1/*.json,$R/diag-r2/*.json > $R/ab-diag.txt 2>&1
cat $R/ab-diag.txt
el done
