#!/usr/bin/env bash
# Forty-seventh session, call 3 (the session's last device seconds): Buffer's copies and fills made
# synchronous on the device (db9963d) and gpu_timing on Buffer (7b47ea9). The CTest label gpu (every GPU
# test, the CLI's included), without the sanitizers; a `fp4moe bench` row with --min-runs above 500.
source bench/device.sh && dev_init cli-bench-3
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
(cmake -S . -B /tmp/bg -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a >/dev/null &&
  cmake --build /tmp/bg -j 16 --target fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cli) > $R/cmake-bg.log 2>&1
el "build rc=$?"
ctest --test-dir /tmp/bg -L gpu -V --timeout 300 > $R/gpu-ctest.log 2>&1
el "ctest rc=$?: $(grep -E 'tests passed|tests failed' $R/gpu-ctest.log)"
timeout 60 /tmp/bg/src/cli/fp4moe bench --shapes qwen3-30b-a3b --tokens 1 --min-runs 600 --target-ms 0 \
  --json $R/bench-runs.json > $R/bench-runs.txt 2>&1
el "bench rc=$?: $(grep -o '"runs": [0-9]*' $R/bench-runs.json)"
grep -E "tests passed|tests failed|Failed|\*\*\*" $R/gpu-ctest.log
dev_results
