#!/usr/bin/env bash
# Session 31, call 3: the SM clock and board power at 64 and 512 tokens (bench/clock_watch.py), to set beside
# call 1's prefill rows (h200-head-31/run.sh ran those: clocks-q16384*.txt, clocks-d4096.txt).
source bench/device.sh && dev_init clocks
dev_module hd . 14
cw() { local tag=$1; shift; (cd bench && PYTHONPATH=/tmp/mod-hd timeout 120 python3 clock_watch.py "$@") > $R/$tag.txt 2>&1; el "$tag rc=$?"; cat $R/$tag.txt; }
cw clocks-q512 qwen3-30b-a3b 512 --seconds 2
cw clocks-g512 gpt-oss-120b 512 --seconds 2
cw clocks-d512 deepseek-v3 512 --seconds 2
cw clocks-q64 qwen3-30b-a3b 64 --seconds 2
cw clocks-f64 deepseek-v4-flash 64 --seconds 2
el end
