#!/usr/bin/env bash
# Forty-eighth session, call 2: `fp4moe bench --kernels` (the kernels' own times from CUPTI). Builds the
# CLI and the GPU tests, runs the CTest label gpu (the CLI's GPU tests and the rest, no sanitizers: no
# kernel changed), then the same rows with --kernels off, on, list, off, on, so that what the profiling
# costs the timed rows shows, and bench_moe.py --no-peer on those rows for its own GEMM times.
source bench/device.sh && dev_init cli-kernels
dev_module head . 6 &
(cmake -S . -B /tmp/bg -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a &&
  cmake --build /tmp/bg -j 10 --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cli) > $R/cmake-bg.log 2>&1
el "build rc=$?: $(grep -c cupti /tmp/bg/build.ninja) cupti mentions"
wait
ctest --test-dir /tmp/bg -L gpu -V --timeout 300 > $R/gpu-ctest.log 2>&1
el "ctest rc=$?: $(grep -E 'tests passed|tests failed' $R/gpu-ctest.log)"
grep -A12 "cli_bench_small_w4a4cal" $R/gpu-ctest.log | grep -E "us +[0-9.]+x" | head -8
B=/tmp/bg/src/cli/fp4moe
ARGS="--shapes qwen3-30b-a3b,deepseek-v4-flash --tokens 1,64,512"
for k in off on list off on; do
  timeout 90 $B bench $ARGS --kernels $k --json $R/cli-$k-$SECONDS.json > $R/cli-$k-$SECONDS.txt 2>&1
  el "cli --kernels $k rc=$?"
done
dev_bench py /tmp/mod-head $ARGS --modes w4a16 --no-peer
cat $R/cli-list-*.txt
dev_results
