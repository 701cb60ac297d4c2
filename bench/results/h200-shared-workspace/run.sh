#!/usr/bin/env bash
# Forty-fifth session, call 1: the tests' workspaces poisoned with 0xFF bytes (run_forward), the graph
# test of two layers of different shapes on one workspace (GpuGraph.LayersOfDifferentShapesShareOneWorkspace),
# fp4moe.Workspace in the Python bindings (test_gpu.py's shared-workspace graph test), and main c0f4e7d's
# host code not yet run on a GPU (fp4moe.route, _core.Checkpoint): the C++ GPU test command (CTest label
# `gpu`, memcheck, racecheck), the Python GPU tests (tools/gpu-python-test.sh) and the CLI on the CUDA backend.
source bench/device.sh && dev_init shared-workspace
dev_gpu_test 420
cmake --build /tmp/build-gpu --target fp4moe_cli -j16 > $R/cli-build.log 2>&1; echo "cli build rc=$?" >> $R/cli-build.log
B=/tmp/build-gpu/src/cli/fp4moe
{ $B demo; echo "rc=$?"; $B demo --mode w4a4 --tokens 5; echo "rc=$?";
  $B run tests/data/tiny-nvfp4 --layer 1 --tokens 8; echo "rc=$?"; } > $R/cli.out 2>&1
el cli
grep -h "shared workspace" $R/*.log $R/gpu-test.out 2>/dev/null | head -20
s=$(date +%s)
timeout 300 tools/gpu-python-test.sh > "$R/gpu-python-test.out" 2>&1
echo "gpu-python-test rc=$? in $(($(date +%s) - s)) s" >> "$R/gpu-python-test.out"
grep -E "passed|failed|skipped|error|rc=" "$R/gpu-python-test.out" | tail -6
grep -E "backend|rel|rc=" $R/cli.out
dev_results
