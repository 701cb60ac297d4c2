#!/usr/bin/env bash
# Thirty-ninth session, call 4: where each kernel of a forward starts and ends (timeline.py: one graph
# replay of forwards over rotating weight copies, the profiler's records, medians over the middle
# forwards), main 6df6f01 (60b3e07's kernels), for the rows furthest from #6's and #7's lines.
source bench/device.sh && dev_init timeline
dev_module head . 16
T=bench/kernel_timeline.py  # it ran as this folder's timeline.py, since moved there (the same code)
run() { PYTHONPATH=/tmp/mod-head timeout 120 python3 $T "$@" 2>&1 | tee -a $R/timeline.txt; echo | tee -a $R/timeline.txt; }
run qwen3-30b-a3b 1
run qwen3-30b-a3b 64
run qwen3-30b-a3b 512
run qwen3-30b-a3b 512 --routing skewed
run deepseek-v4-flash 512 --copies 3
run qwen3-30b-a3b 16384 --mode w4a4 --copies 6
run qwen3-30b-a3b 16384 --copies 6
el done
