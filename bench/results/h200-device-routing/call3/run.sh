#!/usr/bin/env bash
# Forty-sixth session, call 3: the final tree: the whole C++ GPU test command (memcheck and racecheck now
# also on GpuRoute.*), and the Python tests with torch against the CUDA build: test_gpu.py (the device
# routing, torch.ops.fp4moe.route under torch.compile on bfloat16 logits, routing and forward in one
# CUDA graph), test_routing.py (bfloat16 logits routed by value) and test_torch_cpu.py.
source bench/device.sh && dev_init device-routing-3
dev_module head . 6 &
dev_gpu_test 420
wait
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 200 python3 -m pytest -q -rs test_gpu.py test_routing.py \
  test_torch_cpu.py test_workspace.py) > $R/test-python.log 2>&1
el "python tests rc=$?"
tail -3 $R/test-python.log
dev_results
