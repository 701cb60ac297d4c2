#!/usr/bin/env bash
# Fiftieth session, call 3: the final tree (the copy-count and graph-timing helpers shared by our side and
# Marlin's in moe_run.py): the whole GPU test command (tools/gpu-test.sh: CTest label gpu, memcheck and
# racecheck), then the W4A16 decode rows with the Marlin peer again through the refactored benchmark.
source bench/device.sh && dev_init marlin-peer-3
dev_module head . 6 &
dev_gpu_test 420
wait
M=$PWD/build-marlin/libpeer_marlin.so
dev_bench decode /tmp/mod-head --tokens 1,8,64,512 --modes w4a16 --marlin-lib $M
grep -h "ACCURACY\|ERROR" $R/*.out | head
dev_results
