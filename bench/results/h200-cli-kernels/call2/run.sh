#!/usr/bin/env bash
# Written in the forty-eighth session, run in the forty-ninth (this folder's call 2): the GEMM marker
# on the whole kernel name. The CLI's GPU tests, then `fp4moe bench --kernels on` and bench_moe.py
# --no-peer on the same rows, twice in alternation, so that the two tools' GEMM times can be compared
# on one machine.
source bench/device.sh && dev_init cli-kernels-2
dev_module head . 6 &
(cmake -S . -B /tmp/bg -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a \
   -DFP4MOE_TEST_DIRS="common;checkpoint;cli" && cmake --build /tmp/bg -j 10 --target fp4moe_cli) > $R/cmake-bg.log 2>&1
el "build rc=$?"
wait
ctest --test-dir /tmp/bg -R cli_ -L gpu -V --timeout 300 > $R/ctest-cli.log 2>&1
el "ctest rc=$?: $(grep -E 'tests passed|tests failed' $R/ctest-cli.log)"
B=/tmp/bg/src/cli/fp4moe
ARGS="--shapes qwen3-30b-a3b,deepseek-v4-flash --tokens 1,64,512"
for i in 1 2; do
  timeout 90 $B bench $ARGS --json $R/cli-$i.json > $R/cli-$i.txt 2>&1
  el "cli $i rc=$?"
  dev_bench py-$i /tmp/mod-head $ARGS --modes w4a16 --no-peer
done
cat $R/cli-1.txt
dev_results
