#!/usr/bin/env bash
# Thirty-seventh session, call 4: the layer tests again with SortedRowsEqualTheGather's config mended
# (call 3 gave it an intermediate size the layer rejects), and the rule at 16384 tokens with the copy
# made token by token (call 1 measured the first form there): W4A16, the three shapes the rule takes,
# --sorted-rows off against on, two alternating rounds.
source bench/device.sh && dev_init call4
dev_module new . 10 & dev_tests_build 6 fp4moe_gpu_layer_tests; wait
el builds
dev_gtest layer 240
A="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 16384 --skewed off --modes w4a16 --no-peer"
for r in 1 2; do
  dev_bench p-off-$r /tmp/mod-new $A --sorted-rows off
  dev_bench p-on-$r /tmp/mod-new $A --sorted-rows on
done
dev_compare ab-16384.txt p-off-1,p-off-2 p-on-1,p-on-2
dev_results
