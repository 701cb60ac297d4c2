#!/usr/bin/env bash
# Fiftieth session, call 1: the Marlin peer (vLLM 0.34.0's NVFP4 Marlin MoE, built here by
# bench/marlin/build.py into build-marlin/, carried) beside our layer and the BF16 peer on the same weights:
# the self-test with torch (its Marlin weight preparation check included), a smoke row, then the official
# W4A16 decode and prefill rows with --marlin-lib.
source bench/device.sh && dev_init marlin-peer
dev_module head . 16
python3 bench/bench_moe.py --self-test > $R/self-test.log 2>&1
el "self-test rc=$?: $(tail -1 $R/self-test.log)"
M=$PWD/build-marlin/libpeer_marlin.so
dev_bench smoke /tmp/mod-head --shapes qwen3-30b-a3b --tokens 1,64 --modes w4a16 --skewed off --marlin-lib $M
tail -8 $R/smoke.out
dev_bench decode /tmp/mod-head --tokens 1,8,64,512 --modes w4a16 --marlin-lib $M
dev_bench prefill /tmp/mod-head --tokens 4096,16384 --skewed off --modes w4a16 --marlin-lib $M
grep -h "ACCURACY\|ERROR" $R/*.out | head
dev_results
