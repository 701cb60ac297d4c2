#!/usr/bin/env bash
# Thirty-eighth session, call 1: where GEMM 1's gain on sorted rows comes from. Three builds, each with
# the sorted-rows rule open to every wgmma layer (threshold.patch, so qwen3 takes it with --sorted-rows on):
#   base: main's pipeline. off = cp.async gathers + the consumers' proxy fence; on = sorted rows, no fence.
#   inv:  the fence inverted (inverted-fence.patch; timing only, off is unsafe):
#         off = gathers without the fence; on = sorted rows with the fence.
#   pf:   the fence moved to the producers (producer-fence.patch): each producer thread waits for its
#         stage's cp.async group kStages-2 stages later, fences, and arrives; off = gathers so.
# W4A16 and W4A4 (dynamic scales), qwen3 and deepseek-v4-flash at 4096 and 16384 tokens, uniform.
source bench/device.sh && dev_init call1
P=bench/results/h200-proxy-fence/call1
dev_variant_patch base $P/threshold.patch
dev_variant_patch inv $P/inverted-fence.patch
dev_variant_patch pf $P/producer-fence.patch
dev_module base /tmp/tree-base 5 & dev_module inv /tmp/tree-inv 5 & dev_module pf /tmp/tree-pf 6; wait
el builds
dev_pytest /tmp/mod-pf
A="--shapes qwen3-30b-a3b,deepseek-v4-flash --tokens 4096,16384 --skewed off --modes w4a16,w4a4 --no-peer"
for r in 1 2; do
  dev_bench base-off-$r /tmp/mod-base $A --sorted-rows off
  dev_bench base-on-$r /tmp/mod-base $A --sorted-rows on
  dev_bench inv-off-$r /tmp/mod-inv $A --sorted-rows off
  dev_bench inv-on-$r /tmp/mod-inv $A --sorted-rows on
  dev_bench pf-off-$r /tmp/mod-pf $A --sorted-rows off
done
for v in base-on inv-off inv-on pf-off; do
  dev_compare ab-$v.txt base-off-1,base-off-2 $v-1,$v-2
  dev_compare ab-$v-gemm1.txt base-off-1,base-off-2 $v-1,$v-2 --kernel GateUp
done
dev_results
