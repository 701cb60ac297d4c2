#!/usr/bin/env bash
# Fortieth session, call 2: the one-token GEMM 2 with a CTA's K slices over the token's slots
# (slot-down.patch on main ddc8ce2; FP4MOE_DIAG_SLOT_DOWN=1: register ring 4 deep, =2: 2 deep): no y
# rows, no arrival counters, no last-CTA combine. One build, the switch off / 1 / 2 in alternation,
# two rounds, T=1, every shape, both modes; the layer tests with each form; memcheck and racecheck of
# EdgeCases with form 1; the kernel timeline of qwen3 T=1 with the switch off and on.
source bench/device.sh && dev_init slot-down
dev_module slot . 8 & dev_tests_build 8 fp4moe_gpu_layer_tests; wait; el builds
L=/tmp/bt/tests/cuda/fp4moe_gpu_layer_tests
F='GpuLayer.BenchmarkShapesSmallBatches:GpuLayer.EdgeCases:GpuLayer.NaNInputShowsAsNaN:GpuLayer.EveryActivationBothModesBothLayouts:GpuGraph.*'
for f in 1 2; do FP4MOE_DIAG_SLOT_DOWN=$f timeout 150 $L --gtest_filter="$F" > $R/test-layer-slot$f.log 2>&1; el "layer tests slot $f rc=$?"; tail -3 $R/test-layer-slot$f.log; done
A="--shapes all --tokens 1 --modes w4a16,w4a4 --skewed off --no-peer"
for r in 1 2; do
  dev_bench off-$r /tmp/mod-slot $A
  FP4MOE_DIAG_SLOT_DOWN=1 dev_bench s1-$r /tmp/mod-slot $A
  FP4MOE_DIAG_SLOT_DOWN=2 dev_bench s2-$r /tmp/mod-slot $A
done
dev_compare ab-slot1.txt off-1,off-2 s1-1,s1-2
dev_compare ab-slot2.txt off-1,off-2 s2-1,s2-2
for f in 0 1; do
  FP4MOE_DIAG_SLOT_DOWN=$f PYTHONPATH=/tmp/mod-slot timeout 60 python3 bench/kernel_timeline.py qwen3-30b-a3b 1 >> $R/timeline.txt 2>&1
  FP4MOE_DIAG_SLOT_DOWN=$f PYTHONPATH=/tmp/mod-slot timeout 60 python3 bench/kernel_timeline.py gpt-oss-120b 1 >> $R/timeline.txt 2>&1
done
el timeline; grep -v Warn $R/timeline.txt | grep -v _warn_once
for tool in memcheck racecheck; do
  FP4MOE_DIAG_SLOT_DOWN=1 timeout 120 compute-sanitizer --tool $tool --error-exitcode 3 $L --gtest_filter=GpuLayer.EdgeCases > $R/sanitizer-$tool.log 2>&1
  el "$tool rc=$?"; tail -2 $R/sanitizer-$tool.log
done
dev_results
