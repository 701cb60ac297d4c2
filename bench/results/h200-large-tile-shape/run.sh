#!/usr/bin/env bash
# Thirty-ninth session, call 1: the large tiles' shape above the 32-token wgmma tile. The 128-token
# tile (one CTA per SM, about 200 KB of shared memory) leaves no room beside it, so a skewed batch's
# hot experts hold nearly every SM for their large tiles' whole K before the table's tiles stream the
# other experts' weights. Diagnostic build (diag-large-tile.patch: FP4MOE_DIAG_LARGE_TILE names the
# large tiles' shape where the table's tile is a wgmma one), one build, four settings in alternation:
# the 128-token tile (main's rule), the 48-token two-CTA tile, the 64-token tile, no large tiles.
source bench/device.sh && dev_init large-shape
dev_variant_patch lt bench/results/h200-large-tile-shape/diag-large-tile.patch
dev_module lt /tmp/tree-lt 8 & (cd /tmp/tree-lt && dev_tests_build 8 fp4moe_gpu_layer_tests); wait
el builds
(cd /tmp/tree-lt && FP4MOE_DIAG_LARGE_TILE=wgmma48-r256-w8-s7-c2 dev_gtest layer 100 '*LargeTiles*')
mv $R/test-layer.log $R/test-layer-48.log
(cd /tmp/tree-lt && FP4MOE_DIAG_LARGE_TILE=wgmma64-r256-w8-s8 dev_gtest layer 100 '*LargeTiles*')
mv $R/test-layer.log $R/test-layer-64.log; el tests
A="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 512,768,1024 --skewed only --modes w4a16 --no-peer"
for r in 1 2; do
  dev_bench t128-$r /tmp/mod-lt $A
  FP4MOE_DIAG_LARGE_TILE=wgmma48-r256-w8-s7-c2 dev_bench t48-$r /tmp/mod-lt $A
  FP4MOE_DIAG_LARGE_TILE=wgmma64-r256-w8-s8 dev_bench t64-$r /tmp/mod-lt $A
  FP4MOE_LARGE_TILES=0 dev_bench off-$r /tmp/mod-lt $A
done
dev_compare ab-48.txt t128-1,t128-2 t48-1,t48-2
dev_compare ab-64.txt t128-1,t128-2 t64-1,t64-2
dev_compare ab-off.txt t128-1,t128-2 off-1,off-2
dev_compare ab-48-gemm1.txt t128-1,t128-2 t48-1,t48-2 --kernel GateUp
grep -h "FAILED\|error\|Error\|PASSED" $R/test-layer-*.log | head -20
dev_results
