#!/usr/bin/env bash
# Forty-seventh session, call 2: `fp4moe demo` and `fp4moe run` timing the CUDA backend by CUDA-graph
# replays (gpu_timing's time_forward). The whole C++ GPU test command, whose CTest label gpu now also
# holds the CLI's GPU tests (cli_bench_small, cli_demo_cuda, cli_run_tiny_cuda) and which builds the CLI;
# then the demo in both modes, a short `fp4moe bench`, and `fp4moe bench` at the prefill batches.
source bench/device.sh && dev_init cli-bench-2
dev_gpu_test 450
B=/tmp/build-gpu/src/cli/fp4moe
grep -E "cli_|BenchPlan" $R/gpu-ctest.log | grep -E "Test +#" > $R/cli-tests.txt
for mode in w4a16 w4a4; do $B demo --mode $mode > $R/demo-$mode.txt 2>&1; done
$B run tests/data/tiny-nvfp4 --layer 1 --tokens 8 > $R/run-tiny.txt 2>&1
timeout 60 $B bench --shapes qwen3-30b-a3b --tokens 1,64 > $R/bench-qwen3.txt 2>&1
el "cli runs rc=$?"
timeout 150 $B bench --tokens 4096,16384 --skewed off --json $R/bench-prefill.json > $R/bench-prefill.txt 2>&1
el "cli prefill rc=$?"
cat $R/bench-prefill.txt
cat $R/cli-tests.txt $R/demo-w4a16.txt $R/run-tiny.txt $R/bench-qwen3.txt
dev_results
