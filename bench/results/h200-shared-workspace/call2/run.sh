#!/usr/bin/env bash
# Forty-fifth session, call 2: the graph tests after their buffers moved into one helper (DeviceForward in
# tests/cuda/test_graph.cpp), and the CUDA workspace of each benchmark shape at 8192 tokens, per mode, as
# fp4moe.MoeLayer.workspace_bytes reports it (the figures python/README.md quotes for fp4moe.Workspace).
source bench/device.sh && dev_init shared-workspace-2
dev_module head . 8 &
dev_tests_build 8 fp4moe_gpu_layer_tests
wait
dev_gtest layer 300 'GpuGraph.*'
grep -E "shared workspace|OK \]|FAILED|PASSED" $R/test-layer.log | head -30
PYTHONPATH=/tmp/mod-head python3 - > $R/workspace-bytes.txt 2>&1 <<'PY'
import sys
sys.path.insert(0, "bench")
import fp4moe
from moe_shapes import SHAPES
print("| shape | mode | max_tokens | workspace GB |")
print("|---|---|---|---|")
for s in SHAPES.values():
    for mode in ("w4a16", "w4a4"):
        layer = fp4moe.MoeLayer(s.experts, s.hidden, s.intermediate, s.top_k, 8192, mode=mode, device="cuda")
        print(f"| {s.name} | {mode} | 8192 | {layer.workspace_bytes / 1e9:.2f} |")
        del layer
PY
cat $R/workspace-bytes.txt
dev_results
