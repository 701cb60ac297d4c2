#!/usr/bin/env bash
# Forty-fifth session, call 6: call 5's Python tests again after test_load_moe_layers_shares_one_workspace
# stopped depending on the machine's core count (a CPU layer's workspace grows with its threads; call 5's
# last load asked for all 16 cores after a forward had used a workspace sized for 2, and was refused, as
# the workspace is meant to be).
source bench/device.sh && dev_init shared-workspace-6
dev_module head . 16
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 200 python3 -m pytest -q -rs test_gpu.py test_checkpoint.py test_workspace.py) \
  > $R/test-python.log 2>&1
el "python tests rc=$?"
tail -3 $R/test-python.log
el end
