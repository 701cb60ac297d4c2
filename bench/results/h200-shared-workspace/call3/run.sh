#!/usr/bin/env bash
# Forty-fifth session, call 3: test_torch_cpu.py's new case (two Fp4MoE blocks on one fp4moe.Workspace,
# chained under torch.compile; torch is on this machine only) and the whole Python suite once more
# against the module built with the CUDA backend.
source bench/device.sh && dev_init shared-workspace-3
dev_module head . 16
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 300 python3 -m pytest -q -rs .) > $R/test-python.log 2>&1
el "python tests rc=$?"
tail -6 $R/test-python.log
el end
