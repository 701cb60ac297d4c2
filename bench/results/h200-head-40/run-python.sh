#!/usr/bin/env bash
# Fortieth session, call 5: the Python GPU test command (tools/gpu-python-test.sh) on main, whose
# kernels are ddc8ce2's (the C++ GPU tests of run.sh).
source bench/device.sh && dev_init head-40-python
s=$(date +%s)
timeout 400 tools/gpu-python-test.sh > "$R/gpu-python-test.out" 2>&1
echo "gpu-python-test rc=$? in $(($(date +%s) - s)) s" >> "$R/gpu-python-test.out"
grep -E "passed|failed|skipped|error|rc=" "$R/gpu-python-test.out" | tail -8
el gpu-python-test
