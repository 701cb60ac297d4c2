#!/usr/bin/env bash
# Forty-sixth session, call 6: the Python GPU tests (test_gpu.py, test_routing.py) on the final tree
# (aa6f199: the router's unrolled scans and programmatic dependent launch, after call 3's run of them).
source bench/device.sh && dev_init device-routing-6
dev_module head . 16
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 150 python3 -m pytest -q -rs test_gpu.py test_routing.py) \
  > $R/test-python.log 2>&1
el "python tests rc=$?"
tail -2 $R/test-python.log
el end
