#!/usr/bin/env bash
# Thirty-ninth session, call 5: the kernel timeline (h200-kernel-timeline/) shows deepseek-v4-flash's
# uniform 512-token GEMM 2 starting only after GEMM 1's last CTA: the large tiles' launches, empty in
# a uniform batch, turned the GEMM 1 -> GEMM 2 tile hand-off off wherever the rule adds them (64
# tokens and up on gpt-oss, deepseek-v4-flash, deepseek-v3). The working tree (main 6df6f01 + the
# hand-off for both tile lists, each GEMM 2 launch waiting for its own list's GEMM 1 tiles): its GPU
# tests, then one build, three settings in alternation, two rounds, both routings: the new default
# (large tiles and the hand-off), FP4MOE_TILE_HANDOFF=0 (main's behaviour: large tiles, no hand-off),
# FP4MOE_LARGE_TILES=0 (the hand-off only).
source bench/device.sh && dev_init handoff-uniform
dev_module new . 8 & dev_tests_build 8; wait
el builds
dev_gtest layer 150
dev_gtest kernel 90
dev_gtest dispatch 30
dev_results
PYTHONPATH=/tmp/mod-new timeout 150 python3 bench/results/h200-handoff-uniform/repeat_check.py > $R/repeat.log 2>&1
el "repeat check: $(tail -1 $R/repeat.log)"
A="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 64,256,512,1024 --modes w4a16 --no-peer"
for r in 1 2; do
  FP4MOE_TILE_HANDOFF=0 dev_bench main-$r /tmp/mod-new $A
  dev_bench new-$r /tmp/mod-new $A
  FP4MOE_LARGE_TILES=0 dev_bench ho-$r /tmp/mod-new $A
done
dev_compare ab.txt main-1,main-2 new-1,new-2
dev_compare ab-ho.txt main-1,main-2 ho-1,ho-2
dev_compare ab-new-ho.txt ho-1,ho-2 new-1,new-2
dev_results
