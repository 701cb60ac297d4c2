#!/usr/bin/env bash
# Forty-sixth session, call 1: fp4moe::route_on_device (src/cuda/routing/route.cu) and fp4moe.route on
# CUDA tensors: the C++ GPU test command (the kernel tests' GpuRoute.*, the graph test that routes and
# runs the forward in one graph, memcheck and racecheck now also on GpuRoute.*), the Python GPU tests
# (test_gpu.py: the device routing against the host's, its errors, routing and forward in one torch
# CUDA graph), and bench/bench_route.py (the router against the same routing in PyTorch ops).
source bench/device.sh && dev_init device-routing
dev_module head . 6 &
dev_gpu_test 420
wait
dev_pytest /tmp/mod-head
grep -E "passed|failed|Error" $R/test-python.log | tail -5
PYTHONPATH=/tmp/mod-head timeout 120 python3 bench/bench_route.py --tokens 1,8,64,512,4096,16384 > $R/bench-route.md 2>&1
el "bench_route rc=$?"
cat $R/bench-route.md
dev_results
