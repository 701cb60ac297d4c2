#!/usr/bin/env bash
# Thirty-seventh session, call 3: the change as landed (the copy only where GEMM 1 has at least twelve
# row blocks): every GPU test binary and the Python GPU tests; W4A4 (dynamic scales) off against on,
# two alternating rounds, on the three shapes the rule takes; the official W4A16 decode command.
source bench/device.sh && dev_init call3
dev_module new . 10 & dev_tests_build 6; wait
el builds
dev_gtest dispatch 30; dev_gtest kernel 150; dev_gtest layer 240
dev_pytest /tmp/mod-new
A="--shapes gpt-oss-120b,deepseek-v4-flash,deepseek-v3 --tokens 512,4096 --skewed off --modes w4a4 --no-peer"
for r in 1 2; do
  dev_bench q-off-$r /tmp/mod-new $A --sorted-rows off
  dev_bench q-on-$r /tmp/mod-new $A --sorted-rows on
done
dev_compare ab-w4a4.txt q-off-1,q-off-2 q-on-1,q-on-2
dev_bench official-w4a16-decode /tmp/mod-new --modes w4a16 --tokens 1,8,64,512
dev_results
