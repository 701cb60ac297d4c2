#!/usr/bin/env bash
# Fortieth session, call 7: why bench/kernel_timeline.py's forward period (qwen3 T=512: 143 us) runs
# below the benchmark's (157.7 us in the official table): its one profiled replay came after three,
# a burst on a cold board, where the benchmark holds the board under load for seconds. The tool now
# replays for --warm-s seconds first (default 1.0). qwen3 T=512 W4A16 uniform: the cold burst (0 s)
# against 1 s of warm-up, 8 copies, and 12 copies (the benchmark's rotation for a 1,512 token list);
# the benchmark's own figure in the same call.
source bench/device.sh && dev_init timeline-warm
dev_module head . 16
T="timeout 90 python3 bench/kernel_timeline.py qwen3-30b-a3b 512"
run() { echo "== $*" >> $R/timeline.txt; PYTHONPATH=/tmp/mod-head $T "$@" 2>&1 | grep -v -i warn >> $R/timeline.txt; el "$*"; }
run --warm-s 0
run --warm-s 1
run --warm-s 0
run --warm-s 1
run --warm-s 1 --copies 12
dev_bench bench /tmp/mod-head --shapes qwen3-30b-a3b --tokens 1,512 --skewed off --modes w4a16 --no-peer
grep -E "period|==" $R/timeline.txt; grep -E "^\| qwen3" $R/bench/*.md | cut -c1-120
dev_results
