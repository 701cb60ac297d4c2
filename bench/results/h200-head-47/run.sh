#!/usr/bin/env bash
# Forty-seventh session, call 1: tree 65a0b66 (the bindings' shared route_call), which the forty-sixth
# session could not run on a GPU: the whole C++ GPU test command (CTest label gpu, memcheck and
# racecheck), then every Python test module with torch against the CUDA build of this tree.
source bench/device.sh && dev_init head-47
dev_module head . 6 &
dev_gpu_test 420
wait
(cd tests/python && PYTHONPATH=/tmp/mod-head timeout 240 python3 -m pytest -q -rs .) > $R/test-python.log 2>&1
el "python tests rc=$?"
tail -3 $R/test-python.log
dev_results
