#!/usr/bin/env bash
# Session 32, call 5: main 5a0ab49 (the overlapped consumer loop as committed, after its loop's set-up
# moved into StageCursor): the GPU tests, then the official decode commands (W4A16, W4A4, W4A4
# calibrated; the peer in the run).
source bench/device.sh && dev_init call5
dev_module hd . 10 & dev_tests_build 6; wait; el builds
dev_gtest dispatch 30; dev_gtest kernel 120; dev_gtest layer 200
dev_pytest /tmp/mod-hd
dev_bench official-w4a16-decode /tmp/mod-hd --modes w4a16 --tokens 1,8,64,512
dev_bench official-w4a4-decode /tmp/mod-hd --modes w4a4 --tokens 1,8,64,512
dev_bench official-w4a4cal-decode /tmp/mod-hd --modes w4a4 --w4a4-scales calibrated --tokens 1,8,64,512
dev_results
