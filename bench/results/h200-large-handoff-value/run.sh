#!/usr/bin/env bash
# Thirty-ninth session, call 2: what the large tiles and the GEMM 1 -> GEMM 2 tile hand-off are each
# worth on skewed batches, where main has to choose between them (large tiles turn the hand-off off).
# Main 08557d3, one build, three settings in alternation, two rounds: the table as it is (large
# tiles, no hand-off), FP4MOE_LARGE_TILES=0 (the hand-off), and both off.
source bench/device.sh && dev_init large-handoff
dev_module main . 14
A="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 256,512,1024 --skewed only --modes w4a16 --no-peer"
for r in 1 2; do
  dev_bench lt-$r /tmp/mod-main $A
  FP4MOE_LARGE_TILES=0 dev_bench ho-$r /tmp/mod-main $A
  FP4MOE_LARGE_TILES=0 FP4MOE_TILE_HANDOFF=0 dev_bench none-$r /tmp/mod-main $A
done
dev_compare ab-handoff.txt none-1,none-2 ho-1,ho-2
dev_compare ab-large.txt none-1,none-2 lt-1,lt-2
dev_compare ab-large-handoff.txt lt-1,lt-2 ho-1,ho-2
dev_results
