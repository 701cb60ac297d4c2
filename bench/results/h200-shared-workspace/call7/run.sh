#!/usr/bin/env bash
# Forty-fifth session, call 7: a CUDA device index past the visible devices rejected by name
# (make_moe_layer's options.cuda_device; device="cuda:N" of fp4moe.MoeLayer and fp4moe.Workspace) instead
# of failing inside cudaSetDevice: the layer tests (BadArgumentsAreRejectedWithClearMessages) and the
# Python GPU tests.
source bench/device.sh && dev_init shared-workspace-7
dev_module head . 8 &
dev_tests_build 8 fp4moe_gpu_layer_tests
wait
dev_gtest layer 300
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 200 python3 -m pytest -q -rs test_gpu.py test_workspace.py) \
  > $R/test-python.log 2>&1
el "python tests rc=$?"
tail -3 $R/test-python.log
dev_results
