#!/usr/bin/env bash
# Forty-seventh session: `fp4moe bench` (the CLI's benchmark) on the H200. Builds the CLI and its tests,
# runs them (cli_bench_small is the GPU one), runs `fp4moe bench` on the four shapes in W4A16 and on
# qwen3 in W4A4, and bench_moe.py (--no-peer) on qwen3 and deepseek-v4-flash between two CLI runs of the
# same rows, so the two tools' figures for the same rows can be compared on one machine.
source bench/device.sh && dev_init cli-bench
dev_module head . 6 &
(cmake -S . -B /tmp/bc -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a \
   -DFP4MOE_TEST_DIRS="common;checkpoint;cli" && cmake --build /tmp/bc -j 10 --target fp4moe_cli test_bench_plan) \
  > $R/cmake-cli.log 2>&1
el "cli build rc=$?"
wait
ctest --test-dir /tmp/bc -R "cli_|BenchPlan" -V > $R/ctest-cli.log 2>&1
el "ctest rc=$?: $(grep -E 'tests passed|tests failed' $R/ctest-cli.log)"
B=/tmp/bc/src/cli/fp4moe
s=$(date +%s); timeout 240 $B bench --json $R/cli-all.json > $R/cli-all.txt 2>&1
el "cli bench all rc=$? in $(($(date +%s) - s)) s"
dev_bench py-1 /tmp/mod-head --shapes qwen3-30b-a3b,deepseek-v4-flash --tokens 1,8,64,512 --modes w4a16 --no-peer
timeout 120 $B bench --shapes qwen3-30b-a3b,deepseek-v4-flash > $R/cli-2.txt 2>&1
el "cli bench 2 rc=$?"
timeout 60 $B bench --shapes qwen3-30b-a3b --tokens 1,64 --mode w4a4 > $R/cli-w4a4.txt 2>&1
el "cli bench w4a4 rc=$?"
cat $R/cli-all.txt
dev_results
