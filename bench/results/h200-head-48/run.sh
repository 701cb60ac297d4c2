#!/usr/bin/env bash
# Forty-eighth session, call 1: the tree with Buffer::copy_of / to_vector and `fp4moe bench --scales
# calibrated` (and 228a4dc, the forty-seventh session's last commit, which ran on no GPU): the whole C++ GPU
# test command (CTest label gpu, the CLI's included; memcheck and racecheck), every Python test module with
# torch against the CUDA build, then calibrated W4A4 rows from the CLI between two bench_moe.py runs' worth
# of the same rows (--no-peer), so that the two tools' figures can be compared on one machine.
source bench/device.sh && dev_init head-48
dev_module head . 6 &
dev_gpu_test 420
wait
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 240 python3 -m pytest -q -rs .) > $R/test-python.log 2>&1
el "python tests rc=$?: $(tail -1 $R/test-python.log)"
B=/tmp/build-gpu/src/cli/fp4moe
s=$(date +%s); timeout 120 $B bench --mode w4a4 --scales calibrated --tokens 1,64,512 --json $R/cli-w4a4cal.json \
  > $R/cli-w4a4cal.txt 2>&1
el "cli w4a4cal rc=$? in $(($(date +%s) - s)) s"
dev_bench py-w4a4cal /tmp/mod-head --tokens 1,64,512 --modes w4a4 --w4a4-scales calibrated --no-peer
timeout 120 $B bench --mode w4a4 --scales calibrated --tokens 1,64,512 > $R/cli-w4a4cal-2.txt 2>&1
el "cli w4a4cal 2 rc=$?"
cat $R/cli-w4a4cal.txt
dev_results
