#!/usr/bin/env bash
# Forty-fifth session, call 5: one block-scale rule (format/nvfp4.h's is_valid_block_scale) in the CUDA
# repack kernel, the CPU layer and now the checkpoint loader (which names the tensor and element), and
# fp4moe.load_moe_layers: the GPU kernel and layer tests, the Python GPU and checkpoint tests against the
# CUDA build, and the CLI on the tiny checkpoint.
source bench/device.sh && dev_init shared-workspace-5
dev_module head . 6 &
dev_tests_build 10 fp4moe_gpu_kernel_tests fp4moe_gpu_layer_tests fp4moe_cli
wait
dev_gtest kernel 200
dev_gtest layer 300
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 200 python3 -m pytest -q -rs test_gpu.py test_checkpoint.py test_workspace.py) \
  > $R/test-python.log 2>&1
el "python tests rc=$?"
tail -3 $R/test-python.log
{ /tmp/bt/src/cli/fp4moe run tests/data/tiny-nvfp4 --layer 1 --tokens 8; echo "rc=$?"; } > $R/cli.out 2>&1
grep -E "backend|rel|rc=" $R/cli.out
dev_results
