#!/usr/bin/env bash
# Session 31, call 1: main's GPU tests and the official W4A16 decode command on this tree, then the SM clock
# and board power of the prefill rows closest to #7's line, each phase run without pause (bench/clock_watch.py).
source bench/device.sh && dev_init call1
dev_module hd . 10 &
dev_tests_build 6
wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 90; dev_gtest layer 200
dev_pytest /tmp/mod-hd
dev_bench official-w4a16-decode /tmp/mod-hd --modes w4a16 --tokens 1,8,64,512
cw() { local tag=$1; shift; (cd bench && PYTHONPATH=/tmp/mod-hd timeout 120 python3 clock_watch.py "$@") > $R/$tag.txt 2>&1; el "$tag rc=$?"; cat $R/$tag.txt; }
cw clocks-q16384 qwen3-30b-a3b 16384 --seconds 3
cw clocks-q16384-w4a4 qwen3-30b-a3b 16384 --mode w4a4 --seconds 3
cw clocks-d4096 deepseek-v3 4096 --seconds 3
dev_results
