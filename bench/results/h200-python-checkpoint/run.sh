#!/usr/bin/env bash
# Forty-fourth session, calls 4 and 5: fp4moe.MoeLayer.from_checkpoint and checkpoint_moe_layers (the Python face of the C++ checkpoint
# loader): the module built with the CUDA backend for sm_90a, then the Python GPU tests (test_gpu.py, with
# the tiny checkpoint's layer on the GPU in both modes) and the CPU checkpoint tests against that build.
source bench/device.sh && dev_init python-checkpoint-${CALL:-4}
dev_module head . 16
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 200 python3 -m pytest -v -rs -s test_gpu.py test_checkpoint.py) \
  > $R/test-python.log 2>&1
el "python tests rc=$?"
grep -E "tiny checkpoint|passed|failed|error" $R/test-python.log | tail -12
el end
